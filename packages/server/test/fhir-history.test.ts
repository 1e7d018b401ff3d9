import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMember, fhirClient, type FhirClient } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

describe('FHIR history: instance, type and system', () => {
  let server: TestServer;
  let fhir: FhirClient;

  before(async () => {
    server = await startTestServer();
    fhir = fhirClient(server, (await createMember(server)).token);
  });
  after(() => server.close());

  it('lists an instance newest first with request and response on each entry', async () => {
    const created = (await fhir.post('Patient', { resourceType: 'Patient', active: false })).body;
    server.clock.advance(1000);
    const updated = (await fhir.put(`Patient/${created.id}`, { ...created, active: true })).body;
    const bundle = (await fhir.get(`Patient/${created.id}/_history`)).body;
    assert.equal(bundle.resourceType, 'Bundle');
    assert.equal(bundle.type, 'history');
    assert.deepEqual(
      bundle.entry.map((e: any) => [e.request.method, e.response.etag, e.resource.meta.versionId]),
      [
        ['PUT', `W/"${updated.meta.versionId}"`, updated.meta.versionId],
        ['POST', `W/"${created.meta.versionId}"`, created.meta.versionId],
      ],
    );
    assert.equal(bundle.entry[0].fullUrl, `${server.fhirUrl}Patient/${created.id}`);
    assert.equal(bundle.entry[1].response.status, '201 Created');
  });

  it('type history holds only that type; _since narrows it', async () => {
    const before = server.clock.now();
    server.clock.advance(60_000);
    const since = server.clock.now().toISOString();
    const a = (await fhir.post('Device', { resourceType: 'Device' })).body;
    const b = (await fhir.post('Device', { resourceType: 'Device' })).body;
    await fhir.post('Patient', { resourceType: 'Patient' });
    const all = (await fhir.get('Device/_history')).body;
    assert.ok(all.entry.every((e: any) => e.resource.resourceType === 'Device'));
    const recent = (await fhir.get(`Device/_history?_since=${encodeURIComponent(since)}`)).body;
    assert.deepEqual(recent.entry.map((e: any) => e.resource.id), [b.id, a.id]);
    assert.ok(before < new Date(since));
  });

  it('pages with a next link that stays stable while new versions are written', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await fhir.post('Medication', { resourceType: 'Medication', code: { text: `m${i}` } })).body.id);
    }
    const page1 = (await fhir.get('Medication/_history?_count=2')).body;
    assert.equal(page1.entry.length, 2);
    const next1 = page1.link.find((l: any) => l.relation === 'next').url;
    // A write between pages must not shift the pages still to come.
    await fhir.post('Medication', { resourceType: 'Medication', code: { text: 'late' } });
    const page2 = (await fhir.get(next1)).body;
    const next2 = page2.link.find((l: any) => l.relation === 'next').url;
    const page3 = (await fhir.get(next2)).body;
    const seen = [...page1.entry, ...page2.entry, ...page3.entry].map((e: any) => e.resource.id);
    assert.deepEqual(seen, [...ids].reverse());
    assert.equal(page3.link.find((l: any) => l.relation === 'next'), undefined);
  });

  it('system history spans types and records deletes without content', async () => {
    const obs = (await fhir.post('Observation', { resourceType: 'Observation', status: 'final', code: { text: 'hr' } })).body;
    await fhir.delete(`Observation/${obs.id}`);
    const bundle = (await fhir.get('_history?_count=3')).body;
    assert.equal(bundle.entry[0].request.method, 'DELETE');
    assert.equal(bundle.entry[0].request.url, `Observation/${obs.id}`);
    assert.equal(bundle.entry[0].resource, undefined);
    assert.equal(bundle.entry[1].resource.id, obs.id);
  });
});

describe('metadata and health', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('GET /healthz answers 200 once the server can serve', async () => {
    const res = await fetch(`${server.baseUrl}healthz`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { ok: boolean }).ok, true);
  });

  it('serves a CapabilityStatement without a token that states FHIR 4.0.1 and each type', async () => {
    const res = await fhirClient(server).get('metadata');
    assert.equal(res.status, 200);
    assert.equal(res.body.resourceType, 'CapabilityStatement');
    assert.equal(res.body.fhirVersion, '4.0.1');
    assert.equal(res.body.kind, 'instance');
    const patient = res.body.rest[0].resource.find((r: any) => r.type === 'Patient');
    assert.ok(patient.interaction.some((i: any) => i.code === 'patch'));
    assert.equal(res.body.rest[0].resource.find((r: any) => r.type === 'Login'), undefined);
  });
});
