/**
 * Reference parameters (https://hl7.org/fhir/R4/search.html#reference): `Type/id`, a bare
 * `id` (any target type), an absolute URL (ours is read as `Type/id`; anyone else's matches
 * references written with that URL), and the `:[Type]` modifier (`subject:Patient=123`).
 * `:identifier` and chaining are not implemented.
 */
import { isKnownResourceType } from '../definitions.js';
import { badRequest } from '../outcomes.js';
import { unescapeValue } from './escaping.js';
import { parseLocalReference } from './extract-text.js';
import { truncateIndexed } from './normalize.js';
import type { SearchFilter } from './parse.js';
import { anyIndexRow, or, type CompileContext, type RowRef, type SqlParams } from './sql.js';

export function compileReference(filter: SearchFilter, params: SqlParams, ctx: CompileContext, row: RowRef): string {
  const typeModifier = filter.modifier === undefined ? undefined : checkTypeModifier(filter);
  const code = params.add(filter.param.code);
  const conditions = filter.values.map(unescapeValue).map((v) => matchReference(v, typeModifier, params, ctx, filter));
  return anyIndexRow('search_reference', code, or(conditions), row);
}

function checkTypeModifier(filter: SearchFilter): string {
  const type = filter.modifier as string;
  const allowed = filter.param.targets.length === 0 ? isKnownResourceType(type) : filter.param.targets.includes(type);
  if (!allowed) {
    throw badRequest(`Modifier ":${type}" is not supported on reference parameter "${filter.param.code}": use one of its target types`, filter.name);
  }
  return type;
}

function matchReference(value: string, typeModifier: string | undefined, params: SqlParams, ctx: CompileContext, filter: SearchFilter): string {
  const local = value.startsWith(ctx.fhirBase) ? parseLocalReference(value.slice(ctx.fhirBase.length)) : parseLocalReference(value);
  if (local) {
    if (typeModifier && typeModifier !== local.targetType) {
      throw badRequest(`"${value}" is not a ${typeModifier} reference`, filter.name);
    }
    const byTarget = `(s.target_type = ${params.add(local.targetType)} AND s.target_id = ${params.add(local.targetId)})`;
    // Our own absolute URL also matches a reference stored in that absolute form.
    return value === `${local.targetType}/${local.targetId}` ? byTarget : `(${byTarget} OR ${matchRaw(value, params)})`;
  }
  if (typeModifier) {
    return `(s.target_type = ${params.add(typeModifier)} AND s.target_id = ${params.add(value)})`;
  }
  if (!value.includes('/') && !value.includes(':')) {
    return `s.target_id = ${params.add(value)}`; // A bare id: any target type.
  }
  return matchRaw(value, params);
}

/** A reference that does not point into this server: matched as written. */
function matchRaw(value: string, params: SqlParams): string {
  return `(s.target_type IS NULL AND s.target_id = ${params.add(truncateIndexed(value))})`;
}
