/**
 * Access policies on the write paths (issue 6): create, update, PATCH (the state before AND
 * after must be allowed), delete, readonly entries, readonly and hidden fields on write,
 * conditional create/update/delete matching, batch and transaction entries. A refused write
 * changes nothing: the row counts of the project are the same before and after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import { countRows } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { addMember, assertAbsent, createPolicyFixture, observation, SECRET_VALUE, type PolicyFixture } from './policy-fixture.js';

describe('access policies: writes', () => {
  let server: TestServer;
  let f: PolicyFixture;

  before(async () => {
    server = await startTestServer();
    f = await createPolicyFixture(server);
  });
  after(() => server.close());

  /** Runs `write`, expects `status`, and checks that the project's rows did not change. */
  async function refused(status: number, write: () => Promise<{ status: number; body: any }>): Promise<any> {
    const before = await countRows(server, f.projectId);
    const res = await write();
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.deepEqual(await countRows(server, f.projectId), before);
    return res.body;
  }

  it('create: allowed inside the criteria, 403 outside them, nothing written', async () => {
    const own = await f.patient.post('Observation', observation(f.alice));
    assert.equal(own.status, 201, JSON.stringify(own.body));
    await refused(403, () => f.patient.post('Observation', observation(f.bob)));
    await refused(403, () => f.patient.post('Condition', { resourceType: 'Condition', subject: { reference: `Patient/${f.alice.id}` } }));
    // A readonly entry (Encounter) grants no write.
    await refused(403, () => f.patient.post('Encounter', { resourceType: 'Encounter', status: 'planned', class: { code: 'AMB' }, subject: { reference: `Patient/${f.alice.id}` } }));
    // The parameterised member may create only Bob's vital signs.
    await refused(403, () => f.param.post('Observation', observation(f.bob, { category: [{ coding: [{ code: 'laboratory' }] }] })));
    assert.equal((await f.param.post('Observation', observation(f.bob, { category: [{ coding: [{ code: 'vital-signs' }] }] }))).status, 201);
  });

  it('update and PATCH: the stored state and the new state must both be allowed', async () => {
    const own = (await f.patient.post('Observation', observation(f.alice))).body as Observation & { id: string };
    // Moving one's own Observation to Bob: 403, unchanged.
    await refused(403, () => f.patient.put(`Observation/${own.id}`, { ...own, subject: { reference: `Patient/${f.bob.id}` } }));
    await refused(403, () => f.patient.patch(`Observation/${own.id}`, [{ op: 'replace', path: '/subject/reference', value: `Patient/${f.bob.id}` }]));
    assert.equal((await f.admin.get(`Observation/${own.id}`)).body.subject.reference, `Patient/${f.alice.id}`);
    // Changing Bob's Observation (outside the policy): 404 as a read, even if the result would be allowed.
    const body = await refused(404, () => f.patient.put(`Observation/${f.obsBob.id}`, { ...f.obsBob, subject: { reference: `Patient/${f.alice.id}` } }));
    assertAbsent(body, [SECRET_VALUE]);
    await refused(404, () => f.patient.patch(`Observation/${f.obsBob.id}`, [{ op: 'replace', path: '/status', value: 'cancelled' }]));
    // Inside the policy both ways: allowed.
    const patched = await f.patient.patch(`Observation/${own.id}`, [{ op: 'replace', path: '/status', value: 'amended' }]);
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.status, 'amended');
  });

  it('delete: outside the criteria 404, inside 200', async () => {
    const own = (await f.patient.post('Observation', observation(f.alice))).body as Observation & { id: string };
    await refused(404, () => f.patient.delete(`Observation/${f.obsBob.id}`));
    assert.equal((await f.admin.get(`Observation/${f.obsBob.id}`)).status, 200);
    assert.equal((await f.patient.delete(`Observation/${own.id}`)).status, 200);
    assert.equal((await f.admin.get(`Observation/${own.id}`)).status, 410);
  });

  it('a readonly policy refuses every write with 403 and changes nothing', async () => {
    await refused(403, () => f.readonly.post('Patient', { resourceType: 'Patient', name: [{ given: ['New'] }] }));
    await refused(403, () => f.readonly.put(`Patient/${f.carol.id}`, { ...f.carol, active: false }));
    await refused(403, () => f.readonly.patch(`Patient/${f.carol.id}`, [{ op: 'add', path: '/active', value: false }]));
    await refused(403, () => f.readonly.delete(`Observation/${f.obsCarol.id}`));
    await refused(403, () => f.readonly.put(`Observation?subject=Patient/${f.carol.id}`, { ...f.obsCarol, status: 'cancelled' }));
    await refused(403, () => f.readonly.delete(`Observation?subject=Patient/${f.carol.id}`));
    assert.equal((await f.readonly.get(`Patient/${f.carol.id}`)).status, 200);
  });

  it('readonly and hidden fields keep their stored value on write; readonly ones are dropped on create', async () => {
    const stored = (await f.admin.post('Observation', observation(f.carol, { issued: '2026-01-02T03:04:05.000Z' }))).body as Observation & { id: string };
    const seen = (await f.hidden.get(`Observation/${stored.id}`)).body;
    assert.equal(seen.valueQuantity, undefined);
    const updated = await f.hidden.put(`Observation/${stored.id}`, { ...seen, issued: '2030-01-01T00:00:00.000Z', status: 'amended' });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assertAbsent(updated.body, [SECRET_VALUE]);
    const after = (await f.admin.get(`Observation/${stored.id}`)).body;
    assert.equal(after.status, 'amended');
    assert.equal(after.issued, '2026-01-02T03:04:05.000Z');
    assert.equal(after.valueQuantity.value, SECRET_VALUE);
    // Sending a hidden field does not change it either.
    await f.hidden.patch(`Observation/${stored.id}`, [{ op: 'add', path: '/valueQuantity', value: { value: 1, unit: 'bpm' } }]);
    assert.equal((await f.admin.get(`Observation/${stored.id}`)).body.valueQuantity.value, SECRET_VALUE);
    const created = await f.hidden.post('Observation', observation(f.carol, { issued: '2030-01-01T00:00:00.000Z' }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const createdStored = (await f.admin.get(`Observation/${created.body.id}`)).body;
    assert.equal(createdStored.issued, undefined);
    assert.equal(createdStored.valueQuantity, undefined);
  });

  it('conditional create, update and delete match only what the policy allows', async () => {
    // Conditional delete by a patient removes its own matches, never Bob's.
    const mine = (await f.patient.post('Observation', observation(f.alice, { code: { text: 'cond-delete' } }))).body;
    await f.admin.post('Observation', observation(f.bob, { code: { text: 'cond-delete' } }));
    const del = await f.patient.delete('Observation?code:text=cond-delete');
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.equal((await f.admin.get(`Observation/${mine.id}`)).status, 410);
    assert.equal((await f.admin.get('Observation?code:text=cond-delete')).body.entry.length, 1);
    // Conditional create: Bob's match is invisible, so it does not count; creating for Bob is refused.
    const ifNone = { 'if-none-exist': `code:text=cond-create&subject=Patient/${f.bob.id}` };
    await f.admin.post('Observation', observation(f.bob, { code: { text: 'cond-create' } }));
    await refused(403, () => f.patient.post('Observation', observation(f.bob, { code: { text: 'cond-create' } }), ifNone));
    // Conditional update: Bob's match is invisible; the create branch writes for Alice.
    const put = await f.patient.put(`Observation?code:text=cond-create`, observation(f.alice, { code: { text: 'cond-create' } }));
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.equal((await f.admin.get('Observation?code:text=cond-create&_summary=count')).body.total, 2);
  });

  it('batch and transaction entries are each under the policy', async () => {
    const batch = await f.patient.post('', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Observation/${f.obsAlice.id}` } },
        { request: { method: 'GET', url: `Observation/${f.obsBob.id}` } },
        { request: { method: 'GET', url: 'Observation?_summary=count' } },
        { request: { method: 'POST', url: 'Observation' }, resource: observation(f.bob) },
        { request: { method: 'GET', url: `Patient/${f.alice.id}` } },
      ],
    });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    assert.deepEqual(batch.body.entry.map((e: any) => e.response.status.slice(0, 3)), ['200', '404', '200', '403', '200']);
    assert.equal(batch.body.entry[2].resource.total, (await f.patient.get('Observation?_summary=count')).body.total);
    assert.notEqual(batch.body.entry[2].resource.total, (await f.admin.get('Observation?_summary=count')).body.total);
    assertAbsent(batch.body.entry[1], [SECRET_VALUE]);
    const hidden = await f.hidden.post('', { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Observation/${f.obsAlice.id}` } }, { request: { method: 'GET', url: 'Observation' } }] });
    assertAbsent(hidden.body, [SECRET_VALUE]);
    await refused(403, () =>
      f.patient.post('', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'POST', url: 'Observation' }, resource: observation(f.alice) },
          { request: { method: 'POST', url: 'Observation' }, resource: observation(f.bob) },
        ],
      }),
    );
  });

  it('interaction[] grants only the interactions it lists', async () => {
    const saved = await f.admin.post('AccessPolicy', { resourceType: 'AccessPolicy', name: 'read and search', resource: [{ resourceType: 'Observation', interaction: ['read', 'search'] }] });
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    const member = (await addMember(server, f.projectId, f.doctor, { accessPolicy: { reference: `AccessPolicy/${saved.body.id}` } })).client;
    assert.equal((await member.get(`Observation/${f.obsCarol.id}`)).status, 200);
    assert.equal((await member.get('Observation?_summary=count')).status, 200);
    assert.equal((await member.get(`Observation/${f.obsCarol.id}/_history`)).status, 403);
    assert.equal((await member.get(`Observation/${f.obsCarol.id}/_history/${f.obsCarol.meta?.versionId}`)).status, 403);
    await refused(403, () => member.post('Observation', observation(f.carol)));
    await refused(403, () => member.patch(`Observation/${f.obsCarol.id}`, [{ op: 'replace', path: '/status', value: 'cancelled' }]));
    await refused(403, () => member.delete(`Observation/${f.obsCarol.id}`));
  });
});
