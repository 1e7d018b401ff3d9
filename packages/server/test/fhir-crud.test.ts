import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMember, fhirClient, type FhirClient } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

describe('FHIR create, read, vread, update, patch, delete', () => {
  let server: TestServer;
  let fhir: FhirClient;

  before(async () => {
    server = await startTestServer();
    const member = await createMember(server);
    fhir = fhirClient(server, member.token);
  });
  after(() => server.close());

  it('creates with 201, Location, ETag and server-assigned meta, ignoring a client id', async () => {
    const res = await fhir.post('Patient', { resourceType: 'Patient', id: 'mine', meta: { versionId: 'x', tag: [{ code: 't' }] }, name: [{ family: 'Smith' }] });
    assert.equal(res.status, 201);
    assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json/);
    const { id, meta } = res.body;
    assert.notEqual(id, 'mine');
    assert.notEqual(meta.versionId, 'x');
    assert.deepEqual(meta.tag, [{ code: 't' }]);
    assert.ok(!Number.isNaN(Date.parse(meta.lastUpdated)));
    assert.equal(res.headers.get('location'), `${server.fhirUrl}Patient/${id}/_history/${meta.versionId}`);
    assert.equal(res.headers.get('etag'), `W/"${meta.versionId}"`);
    const read = await fhir.get(`Patient/${id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, res.body);
    assert.equal(read.headers.get('etag'), `W/"${meta.versionId}"`);
    assert.ok(read.headers.get('last-modified'));
  });

  it('accepts plain application/json', async () => {
    const res = await fhir.post('Patient', { resourceType: 'Patient' }, { 'content-type': 'application/json' });
    assert.equal(res.status, 201);
  });

  it('updates, keeps every version for vread, and refuses a stale If-Match with 412', async () => {
    const created = (await fhir.post('Patient', { resourceType: 'Patient', name: [{ family: 'One' }] })).body;
    const v1 = created.meta.versionId;
    const updated = await fhir.put(`Patient/${created.id}`, { ...created, name: [{ family: 'Two' }] }, { 'if-match': `W/"${v1}"` });
    assert.equal(updated.status, 200);
    const v2 = updated.body.meta.versionId;
    assert.notEqual(v2, v1);

    const stale = await fhir.put(`Patient/${created.id}`, { ...created, name: [{ family: 'Three' }] }, { 'if-match': `W/"${v1}"` });
    assert.equal(stale.status, 412);
    assert.equal(stale.body.resourceType, 'OperationOutcome');
    assert.equal((await fhir.get(`Patient/${created.id}`)).body.name[0].family, 'Two');

    assert.equal((await fhir.get(`Patient/${created.id}/_history/${v1}`)).body.name[0].family, 'One');
    assert.equal((await fhir.get(`Patient/${created.id}/_history/${v2}`)).body.name[0].family, 'Two');
    assert.equal((await fhir.get(`Patient/${created.id}/_history/${created.id}`)).status, 404);
  });

  it('update-as-create with a client-chosen id answers 201', async () => {
    const res = await fhir.put('Patient/chosen-id-1', { resourceType: 'Patient', id: 'chosen-id-1' });
    assert.equal(res.status, 201);
    assert.equal(res.body.id, 'chosen-id-1');
    assert.equal((await fhir.put('Patient/chosen-id-1', { resourceType: 'Patient', id: 'chosen-id-1', active: true })).status, 200);
  });

  it('patches with JSON Patch and honours If-Match', async () => {
    const created = (await fhir.post('Patient', { resourceType: 'Patient', name: [{ family: 'Before' }] })).body;
    const res = await fhir.patch(`Patient/${created.id}`, [{ op: 'replace', path: '/name/0/family', value: 'After' }, { op: 'add', path: '/active', value: true }]);
    assert.equal(res.status, 200);
    assert.equal(res.body.name[0].family, 'After');
    assert.equal(res.body.active, true);
    assert.notEqual(res.body.meta.versionId, created.meta.versionId);
    const stale = await fhir.patch(`Patient/${created.id}`, [{ op: 'remove', path: '/active' }], { 'if-match': `W/"${created.meta.versionId}"` });
    assert.equal(stale.status, 412);
    const wrongType = await fhir.request('PATCH', `Patient/${created.id}`, [{ op: 'remove', path: '/active' }], { 'content-type': 'application/json' });
    assert.equal(wrongType.status, 415);
  });

  it('deletes softly: read answers 410, history keeps every version, delete is idempotent', async () => {
    const created = (await fhir.post('Observation', { resourceType: 'Observation', status: 'final', code: { text: 'x' } })).body;
    await fhir.put(`Observation/${created.id}`, { ...created, status: 'amended' });
    const del = await fhir.delete(`Observation/${created.id}`);
    assert.equal(del.status, 200);
    assert.equal((await fhir.get(`Observation/${created.id}`)).status, 410);
    assert.equal((await fhir.delete(`Observation/${created.id}`)).status, 200);
    const history = await fhir.get(`Observation/${created.id}/_history`);
    assert.equal(history.status, 200);
    assert.equal(history.body.type, 'history');
    assert.deepEqual(history.body.entry.map((e: any) => e.request.method), ['DELETE', 'PUT', 'POST']);
    assert.equal(history.body.entry[0].resource, undefined);
    assert.equal(history.body.entry[2].resource.status, 'final');
    assert.equal((await fhir.get(`Observation/${created.id}/_history/${created.meta.versionId}`)).body.status, 'final');
    // Writing again after a delete brings it back as a new version.
    const back = await fhir.put(`Observation/${created.id}`, { ...created, status: 'final' });
    assert.equal(back.status, 201);
    assert.equal((await fhir.get(`Observation/${created.id}`)).status, 200);
  });

  it('answers 404 for an unknown id, on read, patch and delete', async () => {
    assert.equal((await fhir.get('Patient/does-not-exist')).status, 404);
    assert.equal((await fhir.patch('Patient/does-not-exist', [{ op: 'add', path: '/active', value: true }])).status, 404);
    assert.equal((await fhir.delete('Patient/does-not-exist')).status, 404);
  });

  it('rejects a body whose resourceType or id does not match the URL', async () => {
    assert.equal((await fhir.post('Patient', { resourceType: 'Observation' })).status, 400);
    const created = (await fhir.post('Patient', { resourceType: 'Patient' })).body;
    const wrongId = await fhir.put(`Patient/${created.id}`, { ...created, id: 'other' });
    assert.equal(wrongId.status, 400);
    assert.deepEqual(wrongId.body.issue[0].expression, ['id']);
    assert.equal((await fhir.put(`Patient/${created.id}`, { resourceType: 'Patient' })).status, 400);
    assert.equal((await fhir.put(`Patient/${created.id}`, { ...created, resourceType: 'Practitioner' })).status, 400);
  });

  it('validates against the StructureDefinitions and names each problem', async () => {
    const res = await fhir.post('Patient', { resourceType: 'Patient', birthDate: 'yesterday', gender: 42, unknownField: true });
    assert.equal(res.status, 400);
    const expressions = res.body.issue.flatMap((i: any) => i.expression ?? []);
    assert.ok(expressions.includes('Patient.birthDate'), JSON.stringify(res.body));
    assert.ok(expressions.includes('Patient.unknownField'), JSON.stringify(res.body));
    assert.ok(expressions.includes('Patient.gender'), JSON.stringify(res.body));
  });

  it('validates Medplum types too, e.g. an AccessPolicy', async () => {
    const bad = await fhir.post('AccessPolicy', { resourceType: 'AccessPolicy', resource: [{ readonly: 'yes' }] });
    assert.equal(bad.status, 400);
    const good = await fhir.post('AccessPolicy', { resourceType: 'AccessPolicy', name: 'Read patients', resource: [{ resourceType: 'Patient', readonly: true }] });
    assert.equal(good.status, 201);
  });
});
