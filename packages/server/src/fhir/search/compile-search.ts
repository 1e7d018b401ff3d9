/**
 * Compiles a parsed SearchRequest into the pieces of one SQL query: the WHERE conditions
 * (every filter ANDed, each filter's values ORed, https://hl7.org/fhir/R4/search.html#combining;
 * filters in compile-filter.ts, chains and `_has` in compile-chain.ts, the compartment in
 * compartment.ts) and the sort expressions. Parameter codes and sort keys reach here only
 * after the registry accepted them (parse.ts), and every value travels as a parameter.
 */
import { compileCompartment } from './compartment.js';
import { compileLinked } from './compile-chain.js';
import { compileFilter, TABLES } from './compile-filter.js';
import type { SearchRequest, SortKey } from './parse.js';
import type { IndexedType } from './search-params.js';
import { ROOT_ROW, SqlParams, type CompileContext } from './sql.js';

export interface SortExpression {
  /** SQL over the resource row `r` giving the value to order by (NULL when it has none). */
  sql: string;
  /** The PostgreSQL type of that value, for comparing it with a paging cursor's. */
  cast: 'text' | 'timestamptz' | 'numeric';
  descending: boolean;
}

export interface CompiledSearch {
  resourceType: string;
  /** Conditions on the resource row `r`, to be ANDed; $1 is the project and $2 the type. */
  where: string[];
  sort: SortExpression[];
  /** The values of $3 onwards: first the conditions', then the sort expressions'. */
  params: SqlParams;
  /** How many of `params` the conditions use: a count, which does not sort, sends only those. */
  whereParamCount: number;
}

export function compileSearch(request: SearchRequest, ctx: CompileContext): CompiledSearch {
  const params = new SqlParams();
  const where = [
    ...request.filters.map((f) => compileFilter(f, params, ctx, ROOT_ROW)),
    ...request.linked.map((l) => compileLinked(l, params, ctx, ROOT_ROW)),
    ...(request.compartment ? [compileCompartment(request.compartment, params, ROOT_ROW)] : []),
  ];
  // The caller's access policy on the searched type: paging, _total and counts see only what it allows.
  const access = ctx.access?.conditionFor(request.resourceType, params, ctx, ROOT_ROW);
  if (access !== undefined) {
    where.push(access);
  }
  const whereParamCount = params.values.length;
  const sort = request.sort.map((key) => compileSort(key, params));
  return { resourceType: request.resourceType, where, sort, params, whereParamCount };
}

/** Which column of each table to order by, and which aggregate picks a resource's value for each direction. */
const SORT_COLUMNS: Record<IndexedType, { asc: string; desc: string; cast: SortExpression['cast'] }> = {
  token: { asc: 'min(s.value)', desc: 'max(s.value)', cast: 'text' },
  string: { asc: 'min(s.value)', desc: 'max(s.value)', cast: 'text' },
  reference: { asc: 'min(s.reference)', desc: 'max(s.reference)', cast: 'text' },
  date: { asc: 'min(s.low)', desc: 'max(s.high)', cast: 'timestamptz' },
  number: { asc: 'min(s.low)', desc: 'max(s.high)', cast: 'numeric' },
  quantity: { asc: 'min(s.value)', desc: 'max(s.value)', cast: 'numeric' },
  uri: { asc: 'min(s.value)', desc: 'max(s.value)', cast: 'text' },
};

/**
 * A sort key as an expression on the resource row. A resource with several values sorts by
 * its least when ascending and its greatest when descending
 * (https://hl7.org/fhir/R4/search.html#sort); one without a value sorts last.
 */
function compileSort(key: SortKey, params: SqlParams): SortExpression {
  const { param, descending } = key;
  if (param.column === 'id') {
    return { sql: 'r.id', cast: 'text', descending };
  }
  if (param.column === 'last_updated') {
    return { sql: 'r.last_updated', cast: 'timestamptz', descending };
  }
  const column = SORT_COLUMNS[param.type];
  const code = params.add(param.code);
  const sql = `(SELECT ${descending ? column.desc : column.asc} FROM ${TABLES[param.type]} s
     WHERE s.project_id = $1 AND s.resource_type = $2 AND s.code = ${code} AND s.resource_id = r.id)`;
  return { sql, cast: column.cast, descending };
}
