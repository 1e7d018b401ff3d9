/**
 * Uri parameters (https://hl7.org/fhir/R4/search.html#uri): exact match by default;
 * `:below` matches uris that start with the value (`http://acme.org/fhir/` finds everything
 * under it); `:above` matches uris the value starts with (the value's ancestors).
 */
import { badRequest } from '../outcomes.js';
import { unescapeValue } from './escaping.js';
import { escapeLike, truncateIndexed } from './normalize.js';
import type { SearchFilter } from './parse.js';
import { anyIndexRow, or, type CompileContext, type RowRef, type SqlParams } from './sql.js';

export function compileUri(filter: SearchFilter, params: SqlParams, _ctx: CompileContext, row: RowRef): string {
  const code = params.add(filter.param.code);
  const values = filter.values.map(unescapeValue);
  switch (filter.modifier) {
    case undefined:
      return anyIndexRow('search_uri', code, or(values.map((v) => `s.value = ${params.add(truncateIndexed(v))}`)), row);
    case 'below':
      return anyIndexRow('search_uri', code, or(values.map((v) => `s.value LIKE ${params.add(`${escapeLike(truncateIndexed(v))}%`)}`)), row);
    case 'above':
      return anyIndexRow('search_uri', code, or(values.map((v) => `starts_with(${params.add(v, 'text')}, s.value)`)), row);
    default:
      throw badRequest(`Modifier ":${filter.modifier}" is not supported on uri parameter "${filter.param.code}"`, filter.name);
  }
}
