/**
 * The SQL of a search page and of a search count, built from a CompiledSearch. The text
 * refers to the project as $1 and the resource type as $2: ResourceStore supplies both from
 * the caller's Scope when it runs these (it is the only caller), so the tenant cannot be left
 * out or replaced. Deleted resources never match.
 */
import type { CompiledSearch } from './compile-search.js';
import { keysetCondition, orderBy, type Cursor } from './paging.js';

export interface BuiltQuery {
  sql: string;
  /** The values of $3 onwards. */
  params: unknown[];
}

/** Above this many matches, `_total=estimate` reports the planner's estimate instead of counting. */
export const ESTIMATE_COUNT_CAP = 10_000;

function fromWhere(compiled: CompiledSearch): string {
  const conditions = ['r.project_id = $1', 'r.resource_type = $2', 'NOT r.deleted', ...compiled.where];
  return `FROM resource r WHERE ${conditions.join(' AND ')}`;
}

/**
 * One page: `limit` rows in the search's order, after (or before) the cursor. Each row also
 * returns its sort values as text (c0, c1, ...), which is what the next cursor holds.
 */
export function buildPageQuery(compiled: CompiledSearch, limit: number, cursor: Cursor | undefined): BuiltQuery {
  const driver = compiled.sort.length === 0 ? pickDriver(compiled.where) : undefined;
  return driver === undefined ? buildSortedPageQuery(compiled, limit, cursor) : buildDrivenPageQuery(compiled, driver, limit, cursor);
}

/** The general page: every match's row, in the search's order, limited. */
function buildSortedPageQuery(compiled: CompiledSearch, limit: number, cursor: Cursor | undefined): BuiltQuery {
  const params = compiled.params.clone();
  const keys = compiled.sort.map((s, i) => `${s.sql} AS k${i}`);
  const keyText = compiled.sort.map((_s, i) => `, t.k${i}::text AS c${i}`).join('');
  const inner = `SELECT r.resource_type, r.id, r.version_id, r.last_updated, r.deleted, r.content${keys.map((k) => `, ${k}`).join('')} ${fromWhere(compiled)}`;
  const keyset = cursor ? `WHERE ${keysetCondition(compiled.sort, cursor, params)}` : '';
  const reversed = cursor?.direction === 'previous';
  const limitParam = params.add(limit, 'integer');
  const sql = `SELECT t.resource_type, t.id, t.version_id, t.last_updated, t.deleted, t.content${keyText}
    FROM (${inner}) t ${keyset} ORDER BY ${orderBy(compiled.sort, reversed)} LIMIT ${limitParam}`;
  return { sql, params: params.values };
}

/**
 * The page in the default order (by id), driven by one condition that is a set of ids from an
 * index table (`r.id IN (SELECT ...)` or `r.id = ANY(ARRAY(SELECT ...))`): its ids, deduplicated
 * and sorted (after the cursor's id), are walked in order, and each one's resource row is read
 * and checked against every other condition (project, type, not deleted, the other filters,
 * the access policy) until the page is full. Written as the general page is, PostgreSQL reads
 * the row of every match (a Synthea query copied 72 times matches thousands) to keep 20; here a
 * page reads about the page's rows, and the ids, which the index gives without the rows.
 *
 * The derived table's ORDER BY makes the walk ordered whatever the planner thinks of the sizes,
 * and `OFFSET 0` keeps the per-id subquery from being flattened into a join the planner could
 * turn into a hash join over every match. The matches are those of the general page: the
 * driving condition holds by construction and all the others are checked per row. When the
 * driving index gives its ids in order (one code, one reference target) there is nothing to
 * sort; otherwise (a date range, a chain's several targets) sorting the ids is the part of the
 * cost that still grows with the number of matches, far below reading their rows.
 */
function buildDrivenPageQuery(compiled: CompiledSearch, driver: Driver, limit: number, cursor: Cursor | undefined): BuiltQuery {
  const params = compiled.params.clone();
  const reversed = cursor?.direction === 'previous';
  const direction = reversed ? 'DESC' : 'ASC';
  const after = cursor ? `WHERE q.id ${reversed ? '<' : '>'} ${params.add(cursor.id, 'text')}` : '';
  const others = compiled.where.filter((_c, i) => i !== driver.index);
  const conditions = ['r.project_id = $1', 'r.resource_type = $2', 'r.id = d.id', 'NOT r.deleted', ...others];
  const limitParam = params.add(limit, 'integer');
  const sql = `SELECT x.resource_type, x.id, x.version_id, x.last_updated, x.deleted, x.content
    FROM (SELECT DISTINCT q.id FROM (${driver.ids}) q(id) ${after} ORDER BY q.id ${direction}) d
    CROSS JOIN LATERAL (SELECT r.resource_type, r.id, r.version_id, r.last_updated, r.deleted, r.content
      FROM resource r WHERE ${conditions.join(' AND ')} OFFSET 0) x
    ORDER BY d.id ${direction} LIMIT ${limitParam}`;
  return { sql, params: params.values };
}

interface Driver {
  /** Which of the conditions it is. */
  index: number;
  /** `SELECT <one id column> FROM ...`: exactly the ids that satisfy that condition. */
  ids: string;
}

/**
 * Index tables by how few rows one of their conditions usually matches: a reference (one
 * patient's, or a chain's few targets) before a code, a code before a text prefix, a date range last.
 */
const DRIVER_RANK = ['search_reference', 'search_token', 'search_uri', 'search_string', 'search_quantity', 'search_number', 'search_date'];

const ID_SET_FORMS: Array<[prefix: string, suffix: string]> = [
  ['r.id IN (', ')'],
  ['r.id = ANY(ARRAY(', '))'],
];

/**
 * The condition to drive a page from: one whose text is, as a whole, the root row's id in a
 * subquery over an index table (sql.ts's anyIndexRow, compile-chain.ts's levels). Conditions
 * are recognised by their text, which holds only fixed SQL and placeholders (no values), so
 * the parentheses are the statement's own.
 */
export function pickDriver(where: string[]): Driver | undefined {
  let best: (Driver & { rank: number }) | undefined;
  where.forEach((condition, index) => {
    const ids = idSubquery(condition);
    if (ids === undefined) return;
    const table = /^SELECT s\.(?:resource_id|target_id) FROM (search_[a-z]+) s\b/.exec(ids)?.[1];
    const rank = table === undefined ? -1 : DRIVER_RANK.indexOf(table);
    if (rank >= 0 && (best === undefined || rank < best.rank)) {
      best = { index, ids, rank };
    }
  });
  return best === undefined ? undefined : { index: best.index, ids: best.ids };
}

function idSubquery(condition: string): string | undefined {
  for (const [prefix, suffix] of ID_SET_FORMS) {
    if (!condition.startsWith(`${prefix}SELECT `) || !condition.endsWith(suffix)) continue;
    const body = condition.slice(prefix.length, condition.length - suffix.length);
    if (balanced(body)) return body;
  }
  return undefined;
}

/** True when no parenthesis in `text` closes one opened before it (the body is one subquery). */
function balanced(text: string): boolean {
  let depth = 0;
  for (const ch of text) {
    if (ch === '(') depth += 1;
    else if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

/**
 * The exact number of matches; with `cap`, counting stops just past it. Only the conditions'
 * parameters are sent: PostgreSQL refuses a parameter the statement does not use (the sort's).
 */
export function buildCountQuery(compiled: CompiledSearch, cap?: number): BuiltQuery {
  const params = filterParams(compiled);
  if (cap === undefined) {
    return { sql: `SELECT count(*)::text AS n ${fromWhere(compiled)}`, params };
  }
  params.push(cap + 1);
  return { sql: `SELECT count(*)::text AS n FROM (SELECT 1 ${fromWhere(compiled)} LIMIT $${params.length + 2}::integer) c`, params };
}

/** The planner's row estimate for the search, for `_total=estimate` on large results. */
export function buildEstimateQuery(compiled: CompiledSearch): BuiltQuery {
  return { sql: `EXPLAIN (FORMAT JSON) SELECT 1 ${fromWhere(compiled)}`, params: filterParams(compiled) };
}

function filterParams(compiled: CompiledSearch): unknown[] {
  return compiled.params.values.slice(0, compiled.whereParamCount);
}

/** The top plan node's row estimate from an EXPLAIN (FORMAT JSON) result row (a string or parsed, by driver). */
export function readPlanRows(row: Record<string, unknown> | undefined): number {
  const raw = row?.['QUERY PLAN'];
  const plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan?: { 'Plan Rows'?: number } }> | undefined;
  return Math.round(plan?.[0]?.Plan?.['Plan Rows'] ?? 0);
}
