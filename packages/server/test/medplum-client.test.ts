/**
 * Wire compatibility: the official MedplumClient (@medplum/core 4.x) drives FHIR CRUD and
 * history against Tessera unchanged, with a token from the server's own issuer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MedplumClient, OperationOutcomeError } from '@medplum/core';
import type { Patient } from '@medplum/fhirtypes';
import { createMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

describe('MedplumClient against Tessera', () => {
  let server: TestServer;
  let medplum: MedplumClient;

  before(async () => {
    server = await startTestServer();
    const member = await createMember(server);
    medplum = new MedplumClient({ baseUrl: server.baseUrl, fetch: globalThis.fetch.bind(globalThis) });
    medplum.setAccessToken(member.token);
  });
  after(() => server.close());

  it('creates, reads, updates, patches and deletes a Patient', async () => {
    const created = await medplum.createResource<Patient>({ resourceType: 'Patient', name: [{ given: ['Ada'], family: 'Lovelace' }] });
    assert.ok(created.id);
    const read = await medplum.readResource('Patient', created.id as string);
    assert.equal(read.name?.[0]?.family, 'Lovelace');

    const updated = await medplum.updateResource<Patient>({ ...read, birthDate: '1815-12-10' });
    assert.equal(updated.birthDate, '1815-12-10');
    assert.notEqual(updated.meta?.versionId, read.meta?.versionId);

    const patched = await medplum.patchResource('Patient', created.id as string, [{ op: 'add', path: '/gender', value: 'female' }]);
    assert.equal(patched.gender, 'female');

    const history = await medplum.readHistory('Patient', created.id as string);
    assert.equal(history.entry?.length, 3);
    const vread = await medplum.readVersion('Patient', created.id as string, read.meta?.versionId as string);
    assert.equal(vread.birthDate, undefined);

    await medplum.deleteResource('Patient', created.id as string);
    medplum.invalidateAll();
    await assert.rejects(
      () => medplum.readResource('Patient', created.id as string),
      (err: unknown) => err instanceof OperationOutcomeError && err.outcome.issue?.[0]?.code === 'deleted',
    );
  });

  it('surfaces validation errors as an OperationOutcome with expressions', async () => {
    await assert.rejects(
      () => medplum.createResource({ resourceType: 'Patient', birthDate: 'not a date' } as Patient),
      (err: unknown) => err instanceof OperationOutcomeError && (err.outcome.issue?.[0]?.expression ?? []).includes('Patient.birthDate'),
    );
  });
});
