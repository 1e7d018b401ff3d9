/**
 * Conditional create (`If-None-Exist`, https://hl7.org/fhir/R4/http.html#ccreate): none
 * creates (201), one returns it (200), several are a 412; and the same criteria sent many
 * times at once create one resource, over HTTP and inside transaction Bundles.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type FhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

const SYS = 'http://example.com/conditional';
const CONCURRENT = 20;

describe('conditional create', () => {
  let server: TestServer;
  let member: TestMember;
  let fhir: FhirClient;

  before(async () => {
    server = await startTestServer();
    member = await createMember(server);
    fhir = fhirClient(server, member.token);
  });
  after(() => server.close());

  const patient = (value: string): Record<string, unknown> => ({ resourceType: 'Patient', identifier: [{ system: SYS, value }] });

  it('creates with 201 when nothing matches, then answers 200 with the existing resource', async () => {
    const value = crypto.randomUUID();
    const first = await fhir.post('Patient', patient(value), { 'if-none-exist': `identifier=${SYS}|${value}` });
    assert.equal(first.status, 201);
    assert.ok(first.headers.get('location'));
    const rows = await countRows(server, member.projectId);
    // The `Patient?` prefix some clients send is accepted.
    const second = await fhir.post('Patient', { ...patient(value), active: true }, { 'if-none-exist': `Patient?identifier=${SYS}|${value}` });
    assert.equal(second.status, 200);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers.get('etag'), first.headers.get('etag'));
    assert.deepEqual(await countRows(server, member.projectId), rows);
  });

  it('answers 412 when several resources match, writing nothing', async () => {
    const value = crypto.randomUUID();
    await fhir.post('Patient', patient(value));
    await fhir.post('Patient', patient(value));
    const rows = await countRows(server, member.projectId);
    const res = await fhir.post('Patient', patient(value), { 'if-none-exist': `identifier=${SYS}|${value}` });
    assert.equal(expectOutcome(res, 412, 'If-None-Exist'), 'multiple-matches');
    assert.deepEqual(await countRows(server, member.projectId), rows);
  });

  it('refuses criteria that select nothing in particular, result parameters, unknown parameters and another type', async () => {
    const rows = await countRows(server, member.projectId);
    for (const criteria of ['', 'name=', '_count=1&name=x', 'nonsense=1', 'Observation?code=x']) {
      expectOutcome(await fhir.post('Patient', patient('x'), { 'if-none-exist': criteria }), 400, 'If-None-Exist');
    }
    assert.deepEqual(await countRows(server, member.projectId), rows);
  });

  it(`${CONCURRENT} concurrent conditional creates with the same criteria create one resource`, async () => {
    const value = crypto.randomUUID();
    const results = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        // The same criteria written differently (order, encoding) must take the same lock.
        fhir.post('Patient', { ...patient(value), name: [{ family: `Racer ${i}` }] }, { 'if-none-exist': i % 2 ? `identifier=${encodeURIComponent(`${SYS}|${value}`)}` : `identifier=${SYS}|${value}` }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [...Array(CONCURRENT - 1).fill(200), 201], JSON.stringify(results.filter((r) => r.status >= 300).map((r) => r.body)));
    assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
    const search = await fhir.get(`Patient?identifier=${SYS}|${value}&_total=accurate`);
    assert.equal(search.body.total, 1);
  });

  it(`${CONCURRENT} concurrent transactions with the same ifNoneExist create one resource`, async () => {
    const value = crypto.randomUUID();
    const bundle = (i: number) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:4a1d1a53-0000-4000-8000-00000000000a', resource: patient(value), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${SYS}|${value}` } },
        {
          resource: { resourceType: 'Observation', status: 'final', code: { text: `race ${i}` }, subject: { reference: 'urn:uuid:4a1d1a53-0000-4000-8000-00000000000a' } },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    });
    const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => fhir.post('', bundle(i))));
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    const created = results.filter((r) => r.body.entry[0].response.status === '201 Created');
    assert.equal(created.length, 1);
    const id = created[0]?.body.entry[0].resource.id;
    for (const r of results) assert.equal(r.body.entry[1].resource.subject.reference, `Patient/${id}`);
    assert.equal((await fhir.get(`Patient?identifier=${SYS}|${value}&_total=accurate`)).body.total, 1);
    assert.equal((await fhir.get(`Observation?subject=Patient/${id}&_total=accurate`)).body.total, CONCURRENT);
  });
});
