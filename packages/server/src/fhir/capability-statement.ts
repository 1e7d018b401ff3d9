/**
 * `GET /fhir/R4/metadata`: a CapabilityStatement that states what this server does now,
 * no more. Update it with each capability that lands (search, batch, conditional ops).
 */
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { knownResourceTypes } from './definitions.js';
import { SERVER_ONLY } from './protected-types.js';
import { SEARCH_COMPARTMENTS, searchCapabilities } from './search/capability.js';
import { searchableParams } from './search/search-params.js';


export function buildCapabilityStatement(baseUrl: string, version: string, date: string): CapabilityStatement {
  const resources: CapabilityStatementRestResource[] = [...knownResourceTypes()]
    .filter((t) => !SERVER_ONLY.has(t))
    .sort()
    .map((type) => ({
      type: type as CapabilityStatementRestResource['type'],
      interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'].map((code) => ({ code })) as CapabilityStatementRestResource['interaction'],
      // Only the parameters search answers (src/fhir/search/search-params.ts): not composite or special ones.
      searchParam: searchableParams(type).map((p) => ({ name: p.code, type: p.type, ...(p.url ? { definition: p.url } : {}) })),
      // _include, _revinclude and Patient/$everything: src/fhir/search/capability.ts.
      ...searchCapabilities(type, SERVER_ONLY),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      // src/fhir/conditional.ts: If-None-Exist, PUT and DELETE with criteria (a delete removes
      // every match, up to 100), If-None-Match and If-Modified-Since on read.
      conditionalCreate: true,
      conditionalUpdate: true,
      conditionalDelete: 'multiple',
      conditionalRead: 'full-support',
    }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    publisher: 'Tessera',
    kind: 'instance',
    software: { name: 'Tessera', version },
    implementation: { description: 'Tessera FHIR R4 server', url: `${baseUrl}fhir/R4` },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        security: {
          description: 'Every request needs a Bearer access token (a JWT signed by this server; keys at /.well-known/jwks.json).',
        },
        resource: resources,
        // batch and transaction: POST [base] (src/fhir/bundle/).
        interaction: [{ code: 'history-system' }, { code: 'batch' }, { code: 'transaction' }],
        // Compartment search, GET [base]/Patient/[id]/[type] (src/fhir/search/compartment.ts).
        compartment: SEARCH_COMPARTMENTS,
      },
    ],
  };
}
