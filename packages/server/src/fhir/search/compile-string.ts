/**
 * String parameters (https://hl7.org/fhir/R4/search.html#string): by default the value
 * matches the start of any indexed string, ignoring case and accents; `:exact` matches the
 * whole string as written; `:contains` matches anywhere in it. Both sides are normalised by
 * the same function (normalize.ts).
 */
import { badRequest } from '../outcomes.js';
import { unescapeValue } from './escaping.js';
import { escapeLike, normalizeText } from './normalize.js';
import type { SearchFilter } from './parse.js';
import { anyIndexRow, or, type CompileContext, type RowRef, type SqlParams } from './sql.js';

export function compileString(filter: SearchFilter, params: SqlParams, _ctx: CompileContext, row: RowRef): string {
  const code = params.add(filter.param.code);
  const values = filter.values.map(unescapeValue);
  switch (filter.modifier) {
    case undefined:
      return anyIndexRow('search_string', code, or(values.map((v) => `s.value LIKE ${params.add(`${escapeLike(normalizeText(v))}%`)}`)), row);
    case 'contains':
      return anyIndexRow('search_string', code, or(values.map((v) => `s.value LIKE ${params.add(`%${escapeLike(normalizeText(v))}%`)}`)), row);
    case 'exact':
      // The normalised column narrows by index; the exact column decides.
      return anyIndexRow('search_string', code, or(values.map((v) => `(s.value = ${params.add(normalizeText(v))} AND s.exact = ${params.add(v)})`)), row);
    default:
      throw badRequest(`Modifier ":${filter.modifier}" is not supported on string parameter "${filter.param.code}"`, filter.name);
  }
}
