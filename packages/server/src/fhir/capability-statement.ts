/**
 * `GET /fhir/R4/metadata`: a CapabilityStatement that states what this server does now,
 * no more. Update it with each capability that lands (search, batch, conditional ops).
 */
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { knownResourceTypes } from './definitions.js';
import { searchableParams } from './search/search-params.js';

const SERVER_ONLY = new Set(['Login', 'JsonWebKey', 'UserSecurityRequest', 'DomainConfiguration']);

export function buildCapabilityStatement(baseUrl: string, version: string, date: string): CapabilityStatement {
  const resources: CapabilityStatementRestResource[] = [...knownResourceTypes()]
    .filter((t) => !SERVER_ONLY.has(t))
    .sort()
    .map((type) => ({
      type: type as CapabilityStatementRestResource['type'],
      interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'].map((code) => ({ code })) as CapabilityStatementRestResource['interaction'],
      // Only the parameters search answers (src/fhir/search/search-params.ts): not composite or special ones.
      searchParam: searchableParams(type).map((p) => ({ name: p.code, type: p.type, ...(p.url ? { definition: p.url } : {}) })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: false,
      conditionalUpdate: false,
      conditionalDelete: 'not-supported',
      conditionalRead: 'not-supported',
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
        interaction: [{ code: 'history-system' }],
      },
    ],
  };
}
