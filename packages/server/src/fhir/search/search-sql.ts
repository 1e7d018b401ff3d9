/**
 * The SQL of a search page and of a search count, built from a CompiledSearch. The text
 * refers to the project as $1 and the resource type as $2: ResourceStore supplies both from
 * the caller's Scope when it runs these (it is the only caller), so the tenant cannot be left
 * out or replaced. Deleted resources never match.
 */
import type { CompiledSearch } from './compile-search.js';
import { buildDrivenPageQueries, pickDriver } from './driven-page.js';
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

/** A page's statement; with `fallback`, the statement to run instead when it returns fewer than `limit` rows. */
export interface PageQuery extends BuiltQuery {
  fallback?: PageQuery;
}

/**
 * One page: `limit` rows in the search's order, after (or before) the cursor. Each row also
 * returns its sort values as text (c0, c1, ...), which is what the next cursor holds. A page in
 * the default order with an index condition to drive it is read as driven-page.ts describes.
 */
export function buildPageQuery(compiled: CompiledSearch, limit: number, cursor: Cursor | undefined): PageQuery {
  const driver = compiled.sort.length === 0 ? pickDriver(compiled.where) : undefined;
  return driver === undefined ? buildSortedPageQuery(compiled, limit, cursor) : buildDrivenPageQueries(compiled, driver, limit, cursor);
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
