/**
 * An AccessPolicy changed by PATCH, or written by a batch or transaction entry, gets the same
 * 400 as a PUT when the result is invalid (issue 6): an unknown search parameter in criteria,
 * an unknown interaction, a write constraint that is not FHIRPath, a placeholder a membership
 * using the policy does not provide. Nothing changes: the stored version stays the same.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccessPolicy, Practitioner } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type FhirClient } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { addMember, type Stored } from './policy-fixture.js';

/** A JSON Patch as a batch / transaction entry carries it (https://hl7.org/fhir/R4/http.html#patch). */
function patchEntry(url: string, operations: unknown[]) {
  return {
    request: { method: 'PATCH', url },
    resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(operations)).toString('base64') },
  };
}

describe('access policies: PATCH and bundle entries are validated like PUT', () => {
  let server: TestServer;
  let projectId: string;
  let admin: FhirClient;
  let policy: Stored<AccessPolicy>;

  before(async () => {
    server = await startTestServer();
    const adminMember = await createMember(server, { admin: true });
    projectId = adminMember.projectId;
    admin = fhirClient(server, adminMember.token);
    const doctor = (await admin.post<Stored<Practitioner>>('Practitioner', { resourceType: 'Practitioner' })).body;
    const created = await admin.post<Stored<AccessPolicy>>('AccessPolicy', {
      resourceType: 'AccessPolicy',
      name: 'Patched',
      resource: [{ resourceType: 'Observation', criteria: 'Observation?status=final', interaction: ['read', 'search'] }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    policy = created.body;
    // A member uses the policy and gives it no parameter: `%cat` would not be provided.
    await addMember(server, projectId, doctor, { accessPolicy: { reference: `AccessPolicy/${policy.id}` } });
  });
  after(() => server.close());

  /** Expects a 400 naming `expression`, and that the policy and the project's rows are unchanged. */
  async function refused(expression: string, write: () => Promise<{ status: number; body: any; headers: Headers }>): Promise<void> {
    const before = await countRows(server, projectId);
    expectOutcome(await write(), 400, expression);
    assert.deepEqual(await countRows(server, projectId), before);
    assert.equal((await admin.get(`AccessPolicy/${policy.id}`)).body.meta.versionId, policy.meta?.versionId);
  }

  it('PATCH: an unknown search parameter, interaction or bad write constraint is a 400 and changes nothing', async () => {
    const path = `AccessPolicy/${policy.id}`;
    await refused('resource[0].criteria', () => admin.patch(path, [{ op: 'replace', path: '/resource/0/criteria', value: 'Observation?nosuchparam=1' }]));
    await refused('resource[0].interaction[2]', () => admin.patch(path, [{ op: 'add', path: '/resource/0/interaction/-', value: 'frobnicate' }]));
    await refused('resource[0].writeConstraint[0].expression', () => admin.patch(path, [{ op: 'add', path: '/resource/0/writeConstraint', value: [{ language: 'text/fhirpath', expression: 'status = ' }] }]));
    await refused('resource[1].resourceType', () => admin.patch(path, [{ op: 'add', path: '/resource/-', value: { resourceType: 'NoSuchType' } }]));
  });

  it('PATCH: a placeholder that a membership using the policy does not provide is a 400, as on PUT', async () => {
    const criteria = 'Observation?status=final&category=%cat';
    await refused('resource[0].criteria', () => admin.put(`AccessPolicy/${policy.id}`, { ...policy, resource: [{ ...policy.resource?.[0], criteria }] }));
    await refused('resource[0].criteria', () => admin.patch(`AccessPolicy/${policy.id}`, [{ op: 'replace', path: '/resource/0/criteria', value: criteria }]));
  });

  it('PATCH: a valid change is saved', async () => {
    const res = await admin.patch(`AccessPolicy/${policy.id}`, [{ op: 'replace', path: '/resource/0/criteria', value: 'Observation?status=amended' }]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    policy = res.body;
    assert.equal(policy.resource?.[0]?.criteria, 'Observation?status=amended');
  });

  it('batch entries creating, updating or patching a policy are each validated', async () => {
    const batch = await admin.post('', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'POST', url: 'AccessPolicy' }, resource: { resourceType: 'AccessPolicy', resource: [{ resourceType: 'Observation', criteria: 'Observation?nosuchparam=1' }] } },
        { request: { method: 'PUT', url: `AccessPolicy/${policy.id}` }, resource: { ...policy, resource: [{ resourceType: 'Observation', interaction: ['frobnicate'] }] } },
        patchEntry(`AccessPolicy/${policy.id}`, [{ op: 'replace', path: '/resource/0/criteria', value: 'Observation?category=%cat' }]),
        patchEntry(`AccessPolicy/${policy.id}`, [{ op: 'add', path: '/resource/0/writeConstraint', value: [{ expression: 'frobnicate()' }] }]),
      ],
    });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    assert.deepEqual(batch.body.entry.map((e: any) => e.response.status.slice(0, 3)), ['400', '400', '400', '400'], JSON.stringify(batch.body));
    assert.equal((await admin.get(`AccessPolicy/${policy.id}`)).body.meta.versionId, policy.meta?.versionId);
  });

  it('a transaction with an invalid policy entry writes nothing', async () => {
    await refused('Bundle.entry[1].resource.resource[0].criteria', async () => {
      const res = await admin.post('', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'POST', url: 'AccessPolicy' }, resource: { resourceType: 'AccessPolicy', name: 'fine', resource: [{ resourceType: 'Patient' }] } },
          patchEntry(`AccessPolicy/${policy.id}`, [{ op: 'replace', path: '/resource/0/criteria', value: 'Observation?category=%cat' }]),
        ],
      });
      return res;
    });
  });
});
