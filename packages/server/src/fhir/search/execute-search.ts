/**
 * Runs a parsed search in one Scope: compile, fetch one page (one row more than asked, to
 * know whether there is a next page), make the paging cursors, count when asked, and add the
 * page's `_include`/`_revinclude` resources (include.ts). What the Repository calls; it knows
 * nothing of HTTP.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { ResourceStore, SearchRow } from '../resource-store.js';
import type { Scope } from '../scope.js';
import { compileSearch, type CompiledSearch } from './compile-search.js';
import { fetchIncludes } from './include.js';
import type { RowRestriction } from './include-sql.js';
import { decodeCursor, encodeCursor, type Cursor } from './paging.js';
import type { SearchRequest } from './parse.js';
import type { CompileContext } from './sql.js';

export interface SearchResult {
  request: SearchRequest;
  resources: Resource[];
  /** `_include`/`_revinclude` resources for this page's matches (search.mode = include). */
  included: Resource[];
  /** Set when the includes were cut short at include.ts's MAX_INCLUDED. */
  includesTruncated?: boolean;
  /** Set when asked for (`_total`, `_summary=count`), or when the first page holds every match. */
  total?: number;
  /** Opaque cursors for the `next` and `previous` links. */
  next?: string;
  previous?: string;
}

export async function executeSearch(store: ResourceStore, scope: Scope, request: SearchRequest, ctx: CompileContext): Promise<SearchResult> {
  const compiled = compileSearch(request, ctx);
  if (request.summary === 'count') {
    return { request, resources: [], included: [], total: await store.countSearch(scope, compiled, 'accurate') };
  }
  const cursor = request.cursor === undefined ? undefined : decodeCursor(request.cursor, compiled.sort);
  const page = request.count === 0 ? { rows: [], hasMore: false } : await fetchPage(store, scope, compiled, request.count, cursor);
  const resources = page.rows.map((r) => r.version.resource as Resource);
  const includes = request.includes.length > 0 && resources.length > 0 ? await fetchIncludes(store, scope, request.includes, resources, request.unreadable, restrictionOf(ctx)) : undefined;
  const result: SearchResult = {
    request,
    resources,
    included: includes?.resources ?? [],
    ...(includes?.truncated ? { includesTruncated: true } : {}),
    ...pageLinks(page.rows, page.hasMore, cursor),
  };
  const total = await countIfAsked(store, scope, compiled, request, cursor, page.hasMore, page.rows.length);
  return total === undefined ? result : { ...result, total };
}

/** The caller's policy on rows of any type (includes), from the compile context. */
export function restrictionOf(ctx: CompileContext): RowRestriction | undefined {
  const access = ctx.access;
  return access ? (params, alias) => access.conditionForAnyType(params, ctx, alias) : undefined;
}

async function fetchPage(store: ResourceStore, scope: Scope, compiled: CompiledSearch, count: number, cursor: Cursor | undefined): Promise<{ rows: SearchRow[]; hasMore: boolean }> {
  const rows = await store.search(scope, compiled, count + 1, cursor);
  const pageRows = rows.slice(0, count);
  // A previous page was read in reverse order, nearest the cursor first.
  return { rows: cursor?.direction === 'previous' ? pageRows.reverse() : pageRows, hasMore: rows.length > count };
}

/** `next` after the page's last row, `previous` before its first; `hasMore` says whether the far side goes on. */
function pageLinks(rows: SearchRow[], hasMore: boolean, cursor: Cursor | undefined): Pick<SearchResult, 'next' | 'previous'> {
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (!first || !last) {
    return {};
  }
  const at = (row: SearchRow, direction: Cursor['direction']): string => encodeCursor({ direction, values: row.sortValues, id: row.version.id });
  const backwards = cursor?.direction === 'previous';
  const hasNext = backwards || hasMore;
  const hasPrevious = backwards ? hasMore : cursor !== undefined;
  return { ...(hasNext ? { next: at(last, 'next') } : {}), ...(hasPrevious ? { previous: at(first, 'previous') } : {}) };
}

async function countIfAsked(
  store: ResourceStore,
  scope: Scope,
  compiled: CompiledSearch,
  request: SearchRequest,
  cursor: Cursor | undefined,
  hasMore: boolean,
  pageSize: number,
): Promise<number | undefined> {
  if (request.total === 'accurate' || request.total === 'estimate') {
    return store.countSearch(scope, compiled, request.total);
  }
  // The first page holds every match: the total is known without counting.
  return cursor === undefined && !hasMore && request.count > 0 ? pageSize : undefined;
}
