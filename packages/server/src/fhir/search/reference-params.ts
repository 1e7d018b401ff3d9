/**
 * The reference graph of the SearchParameter registry: each type's reference parameters, and
 * for each type the parameters of other types that may point at it. Used by `*` in
 * `_include`/`_revinclude` and by the CapabilityStatement's searchInclude/searchRevInclude.
 *
 * Medplum's `_compartment` (any type, from `meta.compartment`) is left out: it is how Medplum
 * tracks compartments, not a reference a client wrote, and this server does not fill it.
 */
import { knownResourceTypes } from '../definitions.js';
import { searchableParams, type SearchParam } from './search-params.js';

export interface ReferenceParamOf {
  sourceType: string;
  param: SearchParam;
}

const LEFT_OUT = new Set(['_compartment']);

const byType = new Map<string, SearchParam[]>();
let toTarget: Map<string, ReferenceParamOf[]> | undefined;
let anyTarget: ReferenceParamOf[] | undefined;

/** The reference parameters of a type. */
export function referenceParamsOf(resourceType: string): SearchParam[] {
  let params = byType.get(resourceType);
  if (!params) {
    params = searchableParams(resourceType).filter((p) => p.type === 'reference' && !LEFT_OUT.has(p.code));
    byType.set(resourceType, params);
  }
  return params;
}

/** Every reference parameter, of any type, that may point at `targetType` (declared target, or any type). */
export function referencesTo(targetType: string): ReferenceParamOf[] {
  if (!toTarget || !anyTarget) {
    toTarget = new Map();
    anyTarget = [];
    for (const sourceType of [...knownResourceTypes()].sort()) {
      for (const param of referenceParamsOf(sourceType)) {
        if (param.targets.length === 0) {
          anyTarget.push({ sourceType, param });
        }
        for (const target of param.targets) {
          toTarget.set(target, [...(toTarget.get(target) ?? []), { sourceType, param }]);
        }
      }
    }
  }
  return [...(toTarget.get(targetType) ?? []), ...anyTarget];
}
