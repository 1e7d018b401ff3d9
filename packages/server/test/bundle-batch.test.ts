/**
 * Batch Bundles (`POST /fhir/R4` with `type: batch`): each entry succeeds or fails on its
 * own, with its own status and OperationOutcome, in entry order; and what any Bundle POST
 * refuses as a whole (not a Bundle, another type, more entries than BUNDLE_MAX_ENTRIES).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type FhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

const MAX_ENTRIES = 5;

function batch(...entry: unknown[]): unknown {
  return { resourceType: 'Bundle', type: 'batch', entry };
}

describe('batch Bundles', () => {
  let server: TestServer;
  let member: TestMember;
  let fhir: FhirClient;

  before(async () => {
    server = await startTestServer({ env: { BUNDLE_MAX_ENTRIES: String(MAX_ENTRIES) } });
    member = await createMember(server);
    fhir = fhirClient(server, member.token);
  });
  after(() => server.close());

  it('runs each entry on its own: failing entries do not stop or undo the others', async () => {
    const existing = (await fhir.post('Patient', { resourceType: 'Patient', name: [{ family: 'Old' }] })).body;
    const rows = await countRows(server, member.projectId);
    const res = await fhir.post('', batch(
      { resource: { resourceType: 'Patient', name: [{ family: 'One' }] }, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Patient', birthDate: 'never' }, request: { method: 'POST', url: 'Patient' } },
      { request: { method: 'GET', url: 'Patient/does-not-exist' } },
      { resource: { ...existing, name: [{ family: 'New' }] }, request: { method: 'PUT', url: `Patient/${existing.id}` } },
      { resource: existing, request: { method: 'PUT', url: `Patient/${existing.id}`, ifMatch: 'W/"stale"' } },
    ));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.type, 'batch-response');
    assert.deepEqual(res.body.entry.map((e: any) => e.response.status), ['201 Created', '400 Bad Request', '404 Not Found', '200 OK', '412 Precondition Failed']);
    const invalid = res.body.entry[1].response.outcome;
    assert.equal(invalid.resourceType, 'OperationOutcome');
    assert.deepEqual(invalid.issue[0].expression, ['Bundle.entry[1].resource.birthDate']);
    assert.deepEqual(res.body.entry[2].response.outcome.issue[0].expression, ['Bundle.entry[2]']);
    assert.equal(res.body.entry[1].resource, undefined);
    const rowsAfter = await countRows(server, member.projectId);
    assert.deepEqual(rowsAfter, { resources: rows.resources + 1, history: rows.history + 2 });
    assert.equal((await fhir.get(`Patient/${existing.id}`)).body.name[0].family, 'New');
    assert.equal((await fhir.get(`Patient/${res.body.entry[0].resource.id}`)).status, 200);
  });

  it('reads, vreads and searches, and answers 304 to an entry whose ifNoneMatch is current', async () => {
    const patient = (await fhir.post('Patient', { resourceType: 'Patient', name: [{ family: 'Readable' }] })).body;
    const etag = `W/"${patient.meta.versionId}"`;
    const res = await fhir.post('', batch(
      { request: { method: 'GET', url: `Patient/${patient.id}` } },
      { request: { method: 'GET', url: `Patient/${patient.id}/_history/${patient.meta.versionId}` } },
      { request: { method: 'GET', url: `Patient?_id=${patient.id}` } },
      { request: { method: 'GET', url: `Patient/${patient.id}`, ifNoneMatch: etag } },
      { request: { method: 'HEAD', url: `Patient/${patient.id}` } },
    ));
    const [read, vread, search, notModified, head] = res.body.entry;
    assert.deepEqual(read.resource, patient);
    assert.equal(read.response.etag, etag);
    assert.equal(read.response.location, undefined);
    assert.deepEqual(vread.resource, patient);
    assert.equal(search.resource.type, 'searchset');
    assert.deepEqual(search.resource.entry.map((e: any) => e.resource.id), [patient.id]);
    assert.equal(notModified.response.status, '304 Not Modified');
    assert.equal(notModified.resource, undefined);
    assert.equal(head.response.status, '200 OK');
    assert.equal(head.resource, undefined);
    assert.equal(head.response.etag, etag);
  });

  it('makes a reference from one batch entry to another an error of that entry (batch entries are independent)', async () => {
    const res = await fhir.post('', batch(
      { fullUrl: 'urn:uuid:9b7e0b1c-0000-4000-8000-000000000001', resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
      {
        resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:9b7e0b1c-0000-4000-8000-000000000001' } },
        request: { method: 'POST', url: 'Patient' },
      },
      {
        resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:9b7e0b1c-0000-4000-8000-000000000001' } },
        request: { method: 'POST', url: 'Observation' },
      },
    ));
    assert.deepEqual(res.body.entry.map((e: any) => e.response.status), ['201 Created', '400 Bad Request', '400 Bad Request']);
    assert.deepEqual(res.body.entry[1].response.outcome.issue[0].expression, ['Bundle.entry[1].resource.resourceType']);
    assert.deepEqual(res.body.entry[2].response.outcome.issue[0].expression, ['Bundle.entry[2].resource.subject.reference']);
  });

  it('makes a malformed entry its own error', async () => {
    const res = await fhir.post('', batch(
      'not an entry',
      { resource: { resourceType: 'Patient' } },
      { request: { method: 'TRACE', url: 'Patient' } },
      { request: { method: 'POST', url: 'Patient/123' }, resource: { resourceType: 'Patient' } },
      { request: { method: 'GET', url: 'Patient/1/$everything' } },
    ));
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.entry.map((e: any) => e.response.outcome.issue[0].expression[0]),
      ['Bundle.entry[0]', 'Bundle.entry[1].request', 'Bundle.entry[2].request.method', 'Bundle.entry[3].request.url', 'Bundle.entry[4].request.url'],
    );
  });

  it('conditional create entries: the first creates, the next finds it', async () => {
    const entry = { resource: { resourceType: 'Patient', identifier: [{ system: 'urn:batch', value: 'b-1' }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:batch|b-1' } };
    const res = await fhir.post('', batch(entry, entry));
    assert.deepEqual(res.body.entry.map((e: any) => e.response.status), ['201 Created', '200 OK']);
    assert.equal(res.body.entry[1].resource.id, res.body.entry[0].resource.id);
  });

  it('refuses what is not a batch or transaction Bundle (400) and more entries than the limit (413), writing nothing', async () => {
    const rows = await countRows(server, member.projectId);
    expectOutcome(await fhir.post('', { resourceType: 'Patient' }), 400, 'resourceType');
    expectOutcome(await fhir.post('', { resourceType: 'Bundle', type: 'collection', entry: [] }), 400, 'Bundle.type');
    expectOutcome(await fhir.post('', { resourceType: 'Bundle', type: 'batch', entry: {} }), 400, 'Bundle.entry');
    const tooMany = Array.from({ length: MAX_ENTRIES + 1 }, () => ({ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } }));
    assert.equal(expectOutcome(await fhir.post('', batch(...tooMany)), 413, 'Bundle.entry'), 'too-costly');
    expectOutcome(await fhir.post('', { resourceType: 'Bundle', type: 'transaction', entry: tooMany }), 413, 'Bundle.entry');
    assert.deepEqual(await countRows(server, member.projectId), rows);
    // At the base with or without its trailing slash, as clients differ.
    for (const base of [server.fhirUrl, server.fhirUrl.replace(/\/$/, '')]) {
      const empty = await fhir.post(base, batch());
      assert.equal(empty.status, 200, base);
      assert.deepEqual(empty.body, { resourceType: 'Bundle', type: 'batch-response', entry: [] });
    }
  });

  it('the CapabilityStatement states batch, transaction and the conditional interactions', async () => {
    const res = await fhirClient(server).get('metadata');
    const rest = res.body.rest[0];
    assert.ok(rest.interaction.some((i: any) => i.code === 'batch'));
    assert.ok(rest.interaction.some((i: any) => i.code === 'transaction'));
    const patient = rest.resource.find((r: any) => r.type === 'Patient');
    assert.equal(patient.conditionalCreate, true);
    assert.equal(patient.conditionalUpdate, true);
    assert.equal(patient.conditionalDelete, 'multiple');
    assert.equal(patient.conditionalRead, 'full-support');
  });

  it('needs authentication', async () => {
    const res = await fhirClient(server).post('', batch());
    assert.equal(res.status, 401);
  });
});
