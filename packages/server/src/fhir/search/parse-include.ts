/**
 * Parses `_include` and `_revinclude` (https://hl7.org/fhir/R4/search.html#include):
 *   _include=Observation:subject            what the matches' `subject` points at
 *   _include=Observation:subject:Patient    only the Patients among them
 *   _include=Observation:*  or  _include=*  every reference parameter (of that type, of any type)
 *   _revinclude=Observation:subject         the Observations whose `subject` points at a match
 *   _revinclude=*                           anything that points at a match, by any parameter
 * with `:iterate` (R4; `:recurse`, its STU3 name, is read the same) to apply the parameter to
 * included resources too. Each occurrence takes one value; repeat the parameter for more.
 * Naming a type the caller may not read (as source, or as target) is a 403, like searching it.
 */
import { isKnownResourceType } from '../definitions.js';
import { badRequest } from '../outcomes.js';
import { lookupParam } from './search-params.js';
import { assertReadable } from './type-access.js';

export interface IncludeSpec {
  /** `_revinclude`: resources that point at the set, rather than resources the set points at. */
  reverse: boolean;
  iterate: boolean;
  /** The type holding the reference; undefined for `*` (any type). */
  sourceType?: string;
  /** The reference parameter; undefined for `*` and `Type:*` (every reference parameter). */
  code?: string;
  /** Only references to this type. */
  targetType?: string;
}

const MODIFIERS: Record<string, boolean> = { iterate: true, recurse: true };

/** Whether a parameter name is `_include` or `_revinclude`, with or without a modifier. */
export function isIncludeName(name: string): boolean {
  return /^_(rev)?include(:|$)/.test(name);
}

export function parseInclude(name: string, value: string, unreadable: readonly string[]): IncludeSpec {
  const [base, modifier, ...extra] = name.split(':') as [string, string?, ...string[]];
  if (extra.length > 0 || (modifier !== undefined && !MODIFIERS[modifier])) {
    throw badRequest(`${name}: the only modifier is :iterate`, name);
  }
  const spec: IncludeSpec = { reverse: base === '_revinclude', iterate: modifier !== undefined };
  if (value === '*') {
    return spec;
  }
  const [sourceType, code, targetType, ...more] = value.split(':') as [string, string?, string?, ...string[]];
  if (code === undefined || more.length > 0) {
    throw badRequest(`${name} takes Type:parameter, Type:parameter:TargetType, Type:* or *, not "${value}"`, name);
  }
  if (!isKnownResourceType(sourceType)) {
    throw badRequest(`${name}: "${sourceType}" is not a resource type`, name);
  }
  assertReadable(unreadable, sourceType, name);
  spec.sourceType = sourceType;
  if (code === '*') {
    if (targetType !== undefined) {
      throw badRequest(`${name}: Type:* takes no target type`, name);
    }
    return spec;
  }
  const { param } = lookupParam(sourceType, code);
  if (!param || param.type !== 'reference') {
    throw badRequest(`${name}: "${code}" is not a reference parameter of ${sourceType}`, name);
  }
  spec.code = code;
  if (targetType !== undefined) {
    const allowed = param.targets.length === 0 ? isKnownResourceType(targetType) : param.targets.includes(targetType);
    if (!allowed) {
      throw badRequest(`${name}: "${code}" of ${sourceType} cannot point at "${targetType}"`, name);
    }
    assertReadable(unreadable, targetType, name);
    spec.targetType = targetType;
  }
  return spec;
}
