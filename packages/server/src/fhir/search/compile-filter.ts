/**
 * Compiles one parameter filter to a condition on a resource row: the searched resource
 * itself, or (inside a chain or `_has`) a resource it points at or that points at it. Each
 * filter's values are ORed (https://hl7.org/fhir/R4/search.html#combining); `:missing` is
 * the same for every type.
 */
import { badRequest } from '../outcomes.js';
import { compileDate } from './compile-date.js';
import { compileNumber, compileQuantity } from './compile-number.js';
import { compileReference } from './compile-reference.js';
import { compileString } from './compile-string.js';
import { compileToken } from './compile-token.js';
import { compileUri } from './compile-uri.js';
import type { SearchFilter } from './parse.js';
import type { IndexedType } from './search-params.js';
import { missingCondition, or, type CompileContext, type RowRef, type SqlParams } from './sql.js';

type FilterCompiler = (filter: SearchFilter, params: SqlParams, ctx: CompileContext, row: RowRef) => string;

const COMPILERS: Record<IndexedType, FilterCompiler> = {
  token: compileToken,
  string: compileString,
  reference: compileReference,
  date: compileDate,
  number: compileNumber,
  quantity: compileQuantity,
  uri: compileUri,
};

export const TABLES: Record<IndexedType, string> = {
  token: 'search_token',
  string: 'search_string',
  reference: 'search_reference',
  date: 'search_date',
  number: 'search_number',
  quantity: 'search_quantity',
  uri: 'search_uri',
};

export function compileFilter(filter: SearchFilter, params: SqlParams, ctx: CompileContext, row: RowRef): string {
  return filter.modifier === 'missing' ? compileMissing(filter, params, row) : COMPILERS[filter.param.type](filter, params, ctx, row);
}

/** `:missing=true` finds resources with no value for the parameter; `false`, those with one. */
function compileMissing(filter: SearchFilter, params: SqlParams, row: RowRef): string {
  const flags = filter.values.map((v) => {
    if (v !== 'true' && v !== 'false') {
      throw badRequest(':missing takes true or false', filter.name);
    }
    return v === 'true';
  });
  if (filter.param.column) {
    // _id and _lastUpdated are never missing.
    return flags.some((f) => !f) ? 'true' : 'false';
  }
  const code = params.add(filter.param.code);
  return or(flags.map((missing) => missingCondition(TABLES[filter.param.type], code, missing, row)));
}
