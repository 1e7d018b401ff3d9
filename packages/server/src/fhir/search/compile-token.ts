/**
 * Token parameters (https://hl7.org/fhir/R4/search.html#token): `code`, `system|code`,
 * `|code` (no system), `system|` (any code in the system), and the modifiers `:not`,
 * `:text` (display text, matched like a string), `:of-type` (an identifier's type and value)
 * and `:missing`. `_id` compiles to the resource table's own id column.
 */
import { badRequest } from '../outcomes.js';
import { splitUnescaped, unescapeValue } from './escaping.js';
import { escapeLike, normalizeText, truncateIndexed } from './normalize.js';
import type { SearchFilter } from './parse.js';
import { anyIndexRow, noIndexRow, or, type CompileContext, type RowRef, type SqlParams } from './sql.js';

const TABLE = 'search_token';

export function compileToken(filter: SearchFilter, params: SqlParams, _ctx: CompileContext, row: RowRef): string {
  if (filter.param.column === 'id') {
    return compileId(filter, params, row);
  }
  const code = params.add(filter.param.code);
  switch (filter.modifier) {
    case undefined:
      return anyIndexRow(TABLE, code, or(filter.values.map((v) => matchToken(filter, v, params))), row);
    case 'not':
      return noIndexRow(TABLE, code, or(filter.values.map((v) => matchToken(filter, v, params))), row);
    case 'text':
      return anyIndexRow(TABLE, code, or(filter.values.map((v) => `s.text LIKE ${params.add(`${escapeLike(normalizeText(unescapeValue(v)))}%`)}`)), row);
    case 'of-type':
      return anyIndexRow(TABLE, code, or(filter.values.map((v) => matchOfType(filter, v, params))), row);
    default:
      throw badRequest(`Modifier ":${filter.modifier}" is not supported on token parameter "${filter.param.code}"`, filter.name);
  }
}

/** One `[system|]code` value as a condition on an index row. */
function matchToken(filter: SearchFilter, raw: string, params: SqlParams): string {
  const parts = splitUnescaped(raw, '|').map((p) => truncateIndexed(unescapeValue(p)));
  if (parts.length > 2) {
    throw badRequest(`"${raw}" is not a token: use code, system|code, |code or system|`, filter.name);
  }
  if (parts.length === 1) {
    return `s.value = ${params.add(checkBoolean(filter, parts[0] as string))}`;
  }
  const [system, value] = parts as [string, string];
  if (system === '' && value === '') {
    throw badRequest(`"${raw}" is not a token: give a system, a code or both`, filter.name);
  }
  if (system === '') {
    return `(s.system IS NULL AND s.value = ${params.add(value)})`;
  }
  if (value === '') {
    return `s.system = ${params.add(system)}`;
  }
  return `(s.system = ${params.add(system)} AND s.value = ${params.add(value)})`;
}

/** A token over a boolean element takes true or false and nothing else. */
function checkBoolean(filter: SearchFilter, value: string): string {
  if (filter.param.boolean && value !== 'true' && value !== 'false') {
    throw badRequest(`"${filter.param.code}" takes true or false`, filter.name);
  }
  return value;
}

/** `:of-type=typeSystem|typeCode|value` (https://hl7.org/fhir/R4/search.html#modifiers). */
function matchOfType(filter: SearchFilter, raw: string, params: SqlParams): string {
  const parts = splitUnescaped(raw, '|').map((p) => truncateIndexed(unescapeValue(p)));
  if (parts.length !== 3 || parts.some((p) => p === '')) {
    throw badRequest(`:of-type takes type-system|type-code|value, got "${raw}"`, filter.name);
  }
  const [system, code, value] = parts as [string, string, string];
  return `(s.type_system = ${params.add(system)} AND s.type_code = ${params.add(code)} AND s.value = ${params.add(value)})`;
}

function compileId(filter: SearchFilter, params: SqlParams, row: RowRef): string {
  const ids = filter.values.map(unescapeValue);
  if (filter.modifier === undefined) {
    return `${row.alias}.id = ANY(${params.add(ids, 'text[]')})`;
  }
  if (filter.modifier === 'not') {
    return `${row.alias}.id <> ALL(${params.add(ids, 'text[]')})`;
  }
  throw badRequest(`Modifier ":${filter.modifier}" is not supported on _id`, filter.name);
}
