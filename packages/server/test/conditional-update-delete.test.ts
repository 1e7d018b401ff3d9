/**
 * Conditional update (`PUT [type]?criteria`) and conditional delete (`DELETE [type]?criteria`),
 * https://hl7.org/fhir/R4/http.html#cond-update and #3.1.0.7.1. Delete removes every match,
 * up to 100; more is a 412 and deletes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type FhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

const SYS = 'http://example.com/cu';

describe('conditional update and delete', () => {
  let server: TestServer;
  let member: TestMember;
  let fhir: FhirClient;

  before(async () => {
    server = await startTestServer();
    member = await createMember(server);
    fhir = fhirClient(server, member.token);
  });
  after(() => server.close());

  const patient = (value: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ resourceType: 'Patient', identifier: [{ system: SYS, value }], ...extra });

  it('PUT with criteria creates (201) when nothing matches, then updates the match (200)', async () => {
    const value = crypto.randomUUID();
    const created = await fhir.put(`Patient?identifier=${SYS}|${value}`, patient(value, { active: true }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    assert.equal(created.headers.get('location'), `${server.fhirUrl}Patient/${id}/_history/${created.body.meta.versionId}`);
    const updated = await fhir.put(`Patient?identifier=${SYS}|${value}`, patient(value, { active: false }));
    assert.equal(updated.status, 200);
    assert.equal(updated.body.id, id);
    assert.equal(updated.body.active, false);
    // The body may carry the match's id.
    assert.equal((await fhir.put(`Patient?identifier=${SYS}|${value}`, patient(value, { id }))).status, 200);
    const history = await fhir.get(`Patient/${id}/_history`);
    assert.equal(history.body.entry.length, 3);
  });

  it('PUT with criteria: several matches 412, another id than the match 400, an existing id that does not match 409, a stale If-Match 412', async () => {
    const value = crypto.randomUUID();
    const a = (await fhir.post('Patient', patient(value))).body;
    const other = (await fhir.post('Patient', { resourceType: 'Patient' })).body;
    const rows = await countRows(server, member.projectId);
    expectOutcome(await fhir.put(`Patient?identifier=${SYS}|${value}`, patient(value, { id: other.id })), 400, 'id');
    expectOutcome(await fhir.put(`Patient?identifier=${SYS}|${value}`, patient(value), { 'if-match': 'W/"stale"' }), 412);
    const fresh = crypto.randomUUID();
    expectOutcome(await fhir.put(`Patient?identifier=${SYS}|${fresh}`, patient(fresh, { id: other.id })), 409, 'id');
    await fhir.post('Patient', patient(value));
    const twin = await countRows(server, member.projectId);
    assert.equal(twin.resources, rows.resources + 1);
    assert.equal(expectOutcome(await fhir.put(`Patient?identifier=${SYS}|${value}`, patient(value)), 412, 'url'), 'multiple-matches');
    assert.deepEqual(await countRows(server, member.projectId), twin);
    assert.equal((await fhir.get(`Patient/${a.id}`)).body.meta.versionId, a.meta.versionId);
    // With no match, a body id nobody uses is kept (update as create).
    const chosen = await fhir.put(`Patient?identifier=${SYS}|${fresh}`, patient(fresh, { id: `chosen-${fresh}` }));
    assert.equal(chosen.status, 201);
    assert.equal(chosen.body.id, `chosen-${fresh}`);
  });

  it('PUT or DELETE on a type without criteria is a 400', async () => {
    expectOutcome(await fhir.put('Patient', { resourceType: 'Patient' }), 400, 'url');
    expectOutcome(await fhir.delete('Patient'), 400, 'url');
    expectOutcome(await fhir.delete('Patient?name='), 400, 'url');
    expectOutcome(await fhir.delete('Patient?bogus=1'), 400, 'url');
  });

  it('DELETE with criteria deletes every match, and none is fine', async () => {
    const value = crypto.randomUUID();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await fhir.post('Patient', patient(value))).body.id);
    const keep = (await fhir.post('Patient', patient(`${value}-other`))).body;
    const res = await fhir.delete(`Patient?identifier=${SYS}|${value}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.match(res.body.issue[0].details.text, /Deleted 3 Patients/);
    for (const id of ids) assert.equal((await fhir.get(`Patient/${id}`)).status, 410);
    assert.equal((await fhir.get(`Patient/${keep.id}`)).status, 200);
    const none = await fhir.delete(`Patient?identifier=${SYS}|${value}`);
    assert.equal(none.status, 200);
    assert.match(none.body.issue[0].details.text, /Deleted 0 Patients/);
  });

  it('DELETE with criteria refuses more than 100 matches with 412 and deletes none', async () => {
    const value = crypto.randomUUID();
    const entry = { resource: patient(value), request: { method: 'POST', url: 'Patient' } };
    const made = await fhir.post('', { resourceType: 'Bundle', type: 'transaction', entry: Array(101).fill(entry) });
    assert.equal(made.status, 200);
    const rows = await countRows(server, member.projectId);
    assert.equal(expectOutcome(await fhir.delete(`Patient?identifier=${SYS}|${value}`), 412, 'url'), 'too-costly');
    assert.deepEqual(await countRows(server, member.projectId), rows);
    assert.equal((await fhir.get(`Patient?identifier=${SYS}|${value}&_total=accurate&_count=0`)).body.total, 101);
  });
});
