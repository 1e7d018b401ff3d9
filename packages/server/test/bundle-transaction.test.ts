/**
 * Transaction Bundles (`POST /fhir/R4` with `type: transaction`): all or nothing in one
 * database transaction, `urn:uuid:` and conditional references resolved, the spec's
 * processing order, and a response in entry order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type FhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

const SYS = 'http://example.com/mrn';

function transaction(...entry: unknown[]): unknown {
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

function post(fullUrl: string | undefined, resource: Record<string, unknown>, request: Record<string, string> = {}): unknown {
  return { ...(fullUrl ? { fullUrl } : {}), resource, request: { method: 'POST', url: resource.resourceType, ...request } };
}

function urn(): string {
  return `urn:uuid:${crypto.randomUUID()}`;
}

function idOf(location: string): string {
  return location.split('/')[1] as string;
}

describe('transaction Bundles', () => {
  let server: TestServer;
  let member: TestMember;
  let fhir: FhirClient;

  before(async () => {
    server = await startTestServer();
    member = await createMember(server);
    fhir = fhirClient(server, member.token);
  });
  after(() => server.close());

  it('creates every entry, rewriting urn:uuid references (forward, nested, in arrays and contained), and answers in entry order', async () => {
    const patient = urn();
    const practitioner = urn();
    const observation = urn();
    const report = urn();
    const res = await fhir.post('', transaction(
      // The report comes first and points at entries further down.
      post(report, {
        resourceType: 'DiagnosticReport',
        status: 'final',
        code: { text: 'panel' },
        subject: { reference: patient },
        result: [{ reference: observation }],
        performer: [{ reference: practitioner }],
      }),
      post(observation, {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8302-2' }] },
        subject: { reference: patient, display: 'the patient' },
        performer: [{ reference: '#author' }],
        contained: [{ resourceType: 'Practitioner', id: 'author', extension: [{ url: 'http://example.com/same-as', valueReference: { reference: practitioner } }] }],
      }),
      post(patient, { resourceType: 'Patient', identifier: [{ system: SYS, value: 'tx-1' }], generalPractitioner: [{ reference: practitioner }] }),
      post(practitioner, { resourceType: 'Practitioner', name: [{ family: 'Who' }] }),
    ));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.type, 'transaction-response');
    const types = res.body.entry.map((e: any) => e.resource.resourceType);
    assert.deepEqual(types, ['DiagnosticReport', 'Observation', 'Patient', 'Practitioner']);
    for (const e of res.body.entry) {
      assert.equal(e.response.status, '201 Created');
      assert.match(e.response.location, new RegExp(`^${e.resource.resourceType}/${e.resource.id}/_history/${e.resource.meta.versionId}$`));
      assert.equal(e.response.etag, `W/"${e.resource.meta.versionId}"`);
      assert.equal(e.response.lastModified, e.resource.meta.lastUpdated);
      assert.equal(e.fullUrl, `${server.fhirUrl}${e.resource.resourceType}/${e.resource.id}`);
    }
    const [rep, obs, pat, pract] = res.body.entry.map((e: any) => e.resource);
    assert.deepEqual(rep.subject, { reference: `Patient/${pat.id}` });
    assert.deepEqual(rep.result, [{ reference: `Observation/${obs.id}` }]);
    assert.deepEqual(rep.performer, [{ reference: `Practitioner/${pract.id}` }]);
    assert.deepEqual(obs.subject, { reference: `Patient/${pat.id}`, display: 'the patient' });
    assert.deepEqual(obs.performer, [{ reference: '#author' }]);
    assert.equal(obs.contained[0].extension[0].valueReference.reference, `Practitioner/${pract.id}`);
    assert.deepEqual(pat.generalPractitioner, [{ reference: `Practitioner/${pract.id}` }]);
    // Stored as answered, and indexed with the real references.
    assert.deepEqual((await fhir.get(`Observation/${obs.id}`)).body, obs);
    const search = await fhir.get(`DiagnosticReport?result=Observation/${obs.id}&subject=Patient/${pat.id}`);
    assert.deepEqual(search.body.entry.map((e: any) => e.resource.id), [rep.id]);
  });

  it('writes nothing when one entry is invalid, and names the entry in the OperationOutcome', async () => {
    const rows = await countRows(server, member.projectId);
    const patient = urn();
    const res = await fhir.post('', transaction(
      post(patient, { resourceType: 'Patient', name: [{ family: 'Kept' }] }),
      post(undefined, { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: patient } }),
      post(undefined, { resourceType: 'Patient', birthDate: 'not a date' }),
      post(undefined, { resourceType: 'Patient', name: [{ family: 'Also kept' }] }),
    ));
    expectOutcome(res, 400, 'Bundle.entry[2].resource.birthDate');
    assert.match(res.body.issue[0].details.text, /^Bundle\.entry\[2\]: /);
    assert.deepEqual(await countRows(server, member.projectId), rows);
  });

  it('rolls back writes already made when a later step fails (a stale If-Match on a PUT)', async () => {
    const existing = (await fhir.post('Patient', { resourceType: 'Patient', name: [{ family: 'Before' }] })).body;
    const deletable = (await fhir.post('Patient', { resourceType: 'Patient' })).body;
    const rows = await countRows(server, member.projectId);
    const res = await fhir.post('', transaction(
      { request: { method: 'DELETE', url: `Patient/${deletable.id}` } },
      post(urn(), { resourceType: 'Patient', name: [{ family: 'New' }] }),
      { resource: { ...existing, name: [{ family: 'After' }] }, request: { method: 'PUT', url: `Patient/${existing.id}`, ifMatch: 'W/"stale"' } },
    ));
    expectOutcome(res, 412, 'Bundle.entry[2]');
    assert.deepEqual(await countRows(server, member.projectId), rows);
    assert.equal((await fhir.get(`Patient/${deletable.id}`)).status, 200);
    assert.equal((await fhir.get(`Patient/${existing.id}`)).body.name[0].family, 'Before');
  });

  it('resolves conditional references by search; none is a 400 and several a 412, writing nothing', async () => {
    const value = `cond-${crypto.randomUUID()}`;
    const target = (await fhir.post('Patient', { resourceType: 'Patient', identifier: [{ system: SYS, value }] })).body;
    const observation = (subject: string): unknown => post(undefined, { resourceType: 'Observation', status: 'final', code: { text: 'c' }, subject: { reference: subject } });
    const ok = await fhir.post('', transaction(observation(`Patient?identifier=${SYS}|${value}`), observation(`Patient?identifier=${SYS}|${value}`)));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    for (const e of ok.body.entry) assert.equal(e.resource.subject.reference, `Patient/${target.id}`);

    const rows = await countRows(server, member.projectId);
    const none = await fhir.post('', transaction(observation(`Patient?identifier=${SYS}|nobody-${value}`)));
    expectOutcome(none, 400, 'Bundle.entry[0].resource.subject.reference');
    await fhir.post('Patient', { resourceType: 'Patient', identifier: [{ system: SYS, value }] });
    const rowsWithTwin = await countRows(server, member.projectId);
    assert.equal(rowsWithTwin.resources, rows.resources + 1);
    const several = await fhir.post('', transaction(post(undefined, { resourceType: 'Patient' }), observation(`Patient?identifier=${SYS}|${value}`)));
    assert.equal(expectOutcome(several, 412, 'Bundle.entry[1].resource.subject.reference'), 'multiple-matches');
    assert.deepEqual(await countRows(server, member.projectId), rowsWithTwin);
  });

  it('processes DELETE, then POST, then PUT and PATCH, then GET, whatever the entry order', async () => {
    const value = `order-${crypto.randomUUID()}`;
    const old = (await fhir.post('Patient', { resourceType: 'Patient', identifier: [{ system: SYS, value }] })).body;
    const other = (await fhir.post('Patient', { resourceType: 'Patient', name: [{ family: 'Unpatched' }] })).body;
    const patch = [{ op: 'replace', path: '/name/0/family', value: 'Patched' }];
    const res = await fhir.post('', transaction(
      // GET first in the Bundle, run last: it sees the patch and the new Patient.
      { request: { method: 'GET', url: `Patient/${other.id}` } },
      { request: { method: 'GET', url: `Patient?identifier=${SYS}|${value}` } },
      { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(patch)).toString('base64') }, request: { method: 'PATCH', url: `Patient/${other.id}` } },
      // A conditional create that the DELETE below makes find nothing: DELETE ran first.
      post(urn(), { resourceType: 'Patient', identifier: [{ system: SYS, value }], active: true }, { ifNoneExist: `identifier=${SYS}|${value}` }),
      { request: { method: 'DELETE', url: `Patient/${old.id}` } },
    ));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [read, search, patched, created, deleted] = res.body.entry;
    assert.equal(created.response.status, '201 Created');
    assert.notEqual(created.resource.id, old.id);
    assert.equal(deleted.response.status, '200 OK');
    assert.equal(patched.resource.name[0].family, 'Patched');
    assert.equal(read.response.status, '200 OK');
    assert.equal(read.resource.name[0].family, 'Patched');
    assert.equal(read.response.etag, patched.response.etag);
    assert.equal(search.resource.type, 'searchset');
    assert.deepEqual(search.resource.entry.map((e: any) => e.resource.id), [created.resource.id]);
    assert.equal((await fhir.get(`Patient/${old.id}`)).status, 410);
  });

  it('a conditional create that finds its match writes nothing and its fullUrl stands for the match', async () => {
    const value = `match-${crypto.randomUUID()}`;
    const existing = (await fhir.post('Patient', { resourceType: 'Patient', identifier: [{ system: SYS, value }] })).body;
    const patient = urn();
    const rows = await countRows(server, member.projectId);
    const res = await fhir.post('', transaction(
      post(patient, { resourceType: 'Patient', identifier: [{ system: SYS, value }] }, { ifNoneExist: `identifier=${SYS}|${value}` }),
      post(undefined, { resourceType: 'Observation', status: 'final', code: { text: 'm' }, subject: { reference: patient } }),
    ));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.entry[0].response.status, '200 OK');
    assert.equal(res.body.entry[0].resource.id, existing.id);
    assert.equal(res.body.entry[1].resource.subject.reference, `Patient/${existing.id}`);
    assert.equal((await countRows(server, member.projectId)).resources, rows.resources + 1);
  });

  it('conditional update and delete entries', async () => {
    const value = `cu-${crypto.randomUUID()}`;
    const res = await fhir.post('', transaction(
      { resource: { resourceType: 'Patient', identifier: [{ system: SYS, value }], active: true }, request: { method: 'PUT', url: `Patient?identifier=${SYS}|${value}` } },
    ));
    assert.equal(res.body.entry[0].response.status, '201 Created');
    const id = res.body.entry[0].resource.id;
    const again = await fhir.post('', transaction(
      { resource: { resourceType: 'Patient', identifier: [{ system: SYS, value }], active: false }, request: { method: 'PUT', url: `Patient?identifier=${SYS}|${value}` } },
    ));
    assert.equal(again.body.entry[0].response.status, '200 OK');
    assert.equal(again.body.entry[0].resource.id, id);
    const gone = await fhir.post('', transaction({ request: { method: 'DELETE', url: `Patient?identifier=${SYS}|${value}` } }));
    assert.equal(gone.body.entry[0].response.status, '200 OK');
    assert.equal((await fhir.get(`Patient/${id}`)).status, 410);
  });

  it('refuses two entries on one resource, a shared fullUrl, an unknown urn:uuid and FHIRPath Patch, writing nothing', async () => {
    const patient = (await fhir.post('Patient', { resourceType: 'Patient' })).body;
    const rows = await countRows(server, member.projectId);
    const twice = await fhir.post('', transaction(
      { request: { method: 'DELETE', url: `Patient/${patient.id}` } },
      { resource: patient, request: { method: 'PUT', url: `Patient/${patient.id}` } },
    ));
    expectOutcome(twice, 400, 'Bundle.entry[1].request.url');
    const same = urn();
    expectOutcome(await fhir.post('', transaction(post(same, { resourceType: 'Patient' }), post(same, { resourceType: 'Patient' }))), 400, 'Bundle.entry[1].fullUrl');
    const dangling = await fhir.post('', transaction(post(undefined, { resourceType: 'Observation', status: 'final', code: { text: 'd' }, subject: { reference: urn() } })));
    expectOutcome(dangling, 400, 'Bundle.entry[0].resource.subject.reference');
    const fhirPath = await fhir.post('', transaction({ resource: { resourceType: 'Parameters', parameter: [] }, request: { method: 'PATCH', url: `Patient/${patient.id}` } }));
    assert.equal(expectOutcome(fhirPath, 400, 'Bundle.entry[0].resource'), 'not-supported');
    expectOutcome(await fhir.post('', transaction({ request: { method: 'GET' } })), 400, 'Bundle.entry[0].request.url');
    expectOutcome(await fhir.post('', transaction(post(undefined, { resourceType: 'Nonsense' }))), 404, 'Bundle.entry[0]');
    assert.deepEqual(await countRows(server, member.projectId), rows);
  });

  it('honours Prefer: return=minimal and return=OperationOutcome on write entries', async () => {
    const minimal = await fhir.post('', transaction(post(urn(), { resourceType: 'Patient' })), { prefer: 'return=minimal' });
    const [entry] = minimal.body.entry;
    assert.equal(entry.resource, undefined);
    assert.equal(entry.response.status, '201 Created');
    assert.equal((await fhir.get(entry.response.location)).status, 200);
    const asOutcome = await fhir.post('', transaction(post(urn(), { resourceType: 'Patient' })), { prefer: 'return=OperationOutcome' });
    assert.equal(asOutcome.body.entry[0].response.outcome.resourceType, 'OperationOutcome');
    assert.equal(asOutcome.body.entry[0].resource, undefined);
    assert.equal(idOf(asOutcome.body.entry[0].response.location).length, 36);
  });

  it('a 50-entry transaction writes 50 resources and 50 versions', async () => {
    const before = await countRows(server, member.projectId);
    const entries = Array.from({ length: 50 }, () => post(urn(), { resourceType: 'Patient', name: [{ family: 'Bulk' }] }));
    const res = await fhir.post('', transaction(...entries));
    assert.equal(res.status, 200);
    const afterRows = await countRows(server, member.projectId);
    assert.equal(afterRows.resources, before.resources + 50);
    assert.equal(afterRows.history, before.history + 50);
  });
});
