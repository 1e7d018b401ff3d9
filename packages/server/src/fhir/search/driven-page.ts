/**
 * A search page in the default order (by id) driven by one condition that is a set of ids from
 * an index table (`r.id IN (SELECT ...)` or `r.id = ANY(ARRAY(SELECT ...))`): the driving ids,
 * deduplicated and in order after the cursor's id, are walked, and each one's resource row is
 * read and checked against every other condition (project, type, not deleted, the other
 * filters, the access policy) until the page is full. Written as the general page is
 * (search-sql.ts), PostgreSQL reads the row of every match (a Synthea query copied 72 times
 * matches thousands) to keep 20; here a page reads about the page's rows.
 *
 * What still grows with the number of matches is putting the driving ids in order. When the
 * index gives them in order (one code, one reference target) that is free; for a date range or
 * a chain's many targets, sorting the 9,000 ids of a date range at a million resources took
 * 8 ms. So a page is read in up to three attempts, each only when the one before returns fewer
 * rows than asked for (the last page, or other conditions refusing most ids):
 *
 * 1. For a date range, a walk: the parameter's index rows in id order (an index that leads with
 *    (code, resource_id) and holds low and high, migration 0007), at most WALK_ROWS_PER_ROW rows
 *    per row asked for, keeping those in range: 0.26 ms for that date range. For a chain with
 *    one target type, the first ids of each target (the reference index gives one target's ids
 *    in order), as many as the page asks for, then the first of those: 73 targets with 88
 *    references each went from 3 ms to 1.6 ms.
 * 2. A top-N: the first CANDIDATES_PER_ROW driving ids per row asked for, cut by a top-N sort,
 *    which keeps a small heap instead of sorting every id (2.6 ms for the same date range).
 * 3. All the driving ids, sorted.
 *
 * An attempt that saw every driving id there is after the cursor (the walk read fewer index rows
 * than it may, the top-N found fewer ids than it takes) says so in each row (`page_complete`),
 * and its page is final however short: a search with one match takes one statement.
 *
 * Each attempt's ids are an exact prefix of the full walk's: the walk's index rows are all of
 * the parameter's rows over a range of ids; any of the first n ids of the chain is among the
 * first n of its own target; the top-N's are the smallest ids. So when an attempt fills the
 * page, the page is exactly the one the full walk would give. Deciding from what an attempt
 * returned, not from estimates, keeps the plans fixed whatever the statistics say.
 *
 * The derived table's ORDER BY makes the walk ordered whatever the planner thinks of the sizes,
 * and `OFFSET 0` keeps the per-id subquery from being flattened into a join the planner could
 * turn into a hash join over every match.
 */
import type { CompiledSearch } from './compile-search.js';
import type { Cursor } from './paging.js';
import type { BuiltQuery, PageQuery } from './search-sql.js';

/** How many driving ids the top-N attempt takes per row the page asks for. */
export const CANDIDATES_PER_ROW = 4;

/** How many index rows the walk reads per row the page asks for. */
export const WALK_ROWS_PER_ROW = 25;

export interface Driver {
  /** Which of the conditions it is. */
  index: number;
  /** `SELECT <one id column> FROM ...`: exactly the ids that satisfy that condition. */
  ids: string;
}

/** The three attempts, first to last (see above). */
export function buildDrivenPageQueries(compiled: CompiledSearch, driver: Driver, limit: number, cursor: Cursor | undefined): PageQuery {
  const build = (attempt: Attempt, fallback?: PageQuery): PageQuery => ({ ...buildDrivenPageQuery(compiled, driver, limit, cursor, attempt), ...(fallback ? { fallback } : {}) });
  const topN = build({ kind: 'top', ids: limit * CANDIDATES_PER_ROW }, build({ kind: 'all' }));
  const rows = indexRows(driver);
  if (rows === undefined) return topN;
  const chain = chainTargets(rows);
  if (chain !== undefined) return build({ kind: 'targets', ids: limit, chain }, topN);
  return rows.table === 'search_date' ? build({ kind: 'walk', rows: limit * WALK_ROWS_PER_ROW, walk: rows }, topN) : topN;
}

type Attempt =
  | { kind: 'all' }
  | { kind: 'top'; ids: number }
  | { kind: 'walk'; rows: number; walk: IndexRowsDriver }
  | { kind: 'targets'; ids: number; chain: ChainTargets };

function buildDrivenPageQuery(compiled: CompiledSearch, driver: Driver, limit: number, cursor: Cursor | undefined, attempt: Attempt): BuiltQuery {
  const params = compiled.params.clone();
  const reversed = cursor?.direction === 'previous';
  const direction = reversed ? 'DESC' : 'ASC';
  const after = (column: string): string => (cursor ? `${column} ${reversed ? '<' : '>'} ${params.add(cursor.id, 'text')}` : '');
  const others = compiled.where.filter((_c, i) => i !== driver.index);
  const conditions = ['r.project_id = $1', 'r.resource_type = $2', 'r.id = d.id', 'NOT r.deleted', ...others];
  let ids: string;
  if (attempt.kind === 'walk') {
    const { table, type, code, where } = attempt.walk;
    const columns = WALK_COLUMNS[table] ?? [];
    const bound = after('s.resource_id');
    const rows = params.add(attempt.rows, 'integer');
    const window = `SELECT ${columns.map((c) => `s.${c}`).join(', ')} FROM ${table} s
      WHERE s.project_id = $1 AND s.resource_type = ${type} AND s.code = ${code}${bound ? ` AND ${bound}` : ''}
      ORDER BY s.resource_id ${direction} LIMIT ${rows}`;
    ids = `SELECT DISTINCT s.resource_id, s.complete FROM (SELECT w.*, count(*) OVER () < ${rows} AS complete FROM (${window}) w) s
      WHERE ${where} ORDER BY s.resource_id ${direction}`;
  } else if (attempt.kind === 'targets') {
    const { type, code } = attempt.chain;
    const bound = after('s.resource_id');
    const n = params.add(attempt.ids, 'integer');
    const perTarget = `SELECT DISTINCT s.resource_id FROM search_reference s
      WHERE s.project_id = $1 AND s.resource_type = ${type} AND s.code = ${code} AND s.target_type = ${attempt.chain.targetType} AND s.target_id = g.target${bound ? ` AND ${bound}` : ''}
      ORDER BY s.resource_id ${direction} LIMIT ${n}`;
    ids = `SELECT DISTINCT c.id, false FROM (SELECT t.resource_id FROM unnest(ARRAY(${attempt.chain.targets})) g(target)
      CROSS JOIN LATERAL (${perTarget}) t ORDER BY t.resource_id ${direction} LIMIT ${n}) c(id) ORDER BY c.id ${direction}`;
  } else {
    const bound = after('q.id');
    const where = bound ? `WHERE ${bound}` : '';
    if (attempt.kind === 'all') {
      ids = `SELECT DISTINCT q.id, true FROM (${driver.ids}) q(id) ${where} ORDER BY q.id ${direction}`;
    } else {
      const n = params.add(attempt.ids, 'integer');
      const top = `SELECT q.id FROM (${driver.ids}) q(id) ${where} ORDER BY q.id ${direction} LIMIT ${n}`;
      ids = `SELECT DISTINCT c.id, c.complete FROM (SELECT t.id, count(*) OVER () < ${n} AS complete FROM (${top}) t) c ORDER BY c.id ${direction}`;
    }
  }
  const limitParam = params.add(limit, 'integer');
  const sql = `SELECT x.resource_type, x.id, x.version_id, x.last_updated, x.deleted, x.content, d.complete AS page_complete
    FROM (${ids}) d(id, complete)
    CROSS JOIN LATERAL (SELECT r.resource_type, r.id, r.version_id, r.last_updated, r.deleted, r.content
      FROM resource r WHERE ${conditions.join(' AND ')} OFFSET 0) x
    ORDER BY d.id ${direction} LIMIT ${limitParam}`;
  return { sql, params: params.values };
}

/**
 * The columns the date walk reads: those of its (project_id, resource_type, code, resource_id,
 * ...) index, so it never reads the table. A driving condition that uses any other column is
 * not walked.
 */
const WALK_COLUMNS: Record<string, readonly string[]> = {
  search_date: ['project_id', 'resource_type', 'code', 'resource_id', 'low', 'high'],
};

/** A driver that is one parameter's index rows (sql.ts's anyIndexRow, compile-chain.ts's first level). */
interface IndexRowsDriver {
  table: string;
  /** The placeholders of the resource type and the parameter's code. */
  type: string;
  code: string;
  /** The driving condition's whole WHERE clause (alias `s`). */
  where: string;
  /** What the WHERE clause says after the project, type and code. */
  rest: string;
}

const INDEX_ROWS = /^SELECT s\.resource_id FROM (search_[a-z]+) s\s+WHERE (s\.project_id = \$1 AND s\.resource_type = (\$\d+) AND s\.code = (\$\d+) AND ([\s\S]+))$/;

function indexRows(driver: Driver): IndexRowsDriver | undefined {
  const m = INDEX_ROWS.exec(driver.ids);
  const [table, where, type, code, rest] = [m?.[1], m?.[2], m?.[3], m?.[4], m?.[5]];
  if (table === undefined || where === undefined || type === undefined || code === undefined || rest === undefined) return undefined;
  const columns = WALK_COLUMNS[table];
  // Only the condition's own columns count, not those of the subqueries nested in it (a chain's levels have an `s` of their own).
  const used = [...withoutSubqueries(where).matchAll(/\bs\.([a-z_]+)/g)].map((u) => u[1] as string);
  if (columns !== undefined && !used.every((c) => columns.includes(c))) return undefined;
  return { table, type, code, where, rest };
}

/** A chain's first level with one target type (compile-chain.ts): its code, target type, and the targets' ids as a SELECT. */
interface ChainTargets {
  type: string;
  code: string;
  targetType: string;
  targets: string;
}

const ONE_TARGET_TYPE = /^\(s\.target_type = (\$\d+) AND s\.target_id = ANY\(ARRAY\((SELECT [\s\S]+)\)\)\)$/;

function chainTargets(rows: IndexRowsDriver): ChainTargets | undefined {
  if (rows.table !== 'search_reference') return undefined;
  const m = ONE_TARGET_TYPE.exec(rows.rest);
  const [targetType, targets] = [m?.[1], m?.[2]];
  return targetType !== undefined && targets !== undefined && balanced(targets) ? { type: rows.type, code: rows.code, targetType, targets } : undefined;
}

/** `text` with every `(SELECT ...)` group (and what it holds) removed. */
function withoutSubqueries(text: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (depth === 0 && text.startsWith('(SELECT ', i)) {
      depth = 1;
      i += '(SELECT '.length - 1;
      continue;
    }
    if (depth > 0) {
      if (text[i] === '(') depth += 1;
      else if (text[i] === ')') depth -= 1;
      continue;
    }
    out += text[i];
  }
  return out;
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
