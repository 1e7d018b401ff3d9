/**
 * What search states in the CapabilityStatement (https://hl7.org/fhir/R4/capabilitystatement.html):
 * per type, the `_include` values it accepts (`*`, and `Type:param` for each reference
 * parameter) and the `_revinclude` values (`*`, and `Source:param` for each reference
 * parameter of another type that names it as a target), `Patient/$everything`, and, for the
 * server, the Patient compartment that compartment search serves.
 *
 * References to any type at all (`Basic:subject`, `Composition:entry`, ...: R4 lists every
 * type as their target) are left out of the `_revinclude` lists, which they would double, to
 * about 350 kB over all types; `*` states them, and they are accepted by name too.
 */
import type { CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { PATIENT_COMPARTMENT_URL } from './compartment.js';
import { referenceParamsOf, referencesTo } from './reference-params.js';

export const SEARCH_COMPARTMENTS = [PATIENT_COMPARTMENT_URL];

/** More targets than this and a reference parameter is one to any type (R4's "Any" lists them all). */
const ANY_TYPE = 30;

export function searchCapabilities(type: string, hidden: ReadonlySet<string>): Pick<CapabilityStatementRestResource, 'searchInclude' | 'searchRevInclude' | 'operation'> {
  const revinclude = referencesTo(type).filter(({ sourceType, param }) => !hidden.has(sourceType) && param.targets.length > 0 && param.targets.length <= ANY_TYPE);
  return {
    searchInclude: ['*', ...referenceParamsOf(type).map((p) => `${type}:${p.code}`)],
    searchRevInclude: ['*', ...new Set(revinclude.map(({ sourceType, param }) => `${sourceType}:${param.code}`))],
    ...(type === 'Patient' ? { operation: [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }] } : {}),
  };
}
