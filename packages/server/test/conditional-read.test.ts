/**
 * Conditional read (https://hl7.org/fhir/R4/http.html#cread): `If-None-Match` with the
 * current ETag, or `If-Modified-Since` at or after the last change, answers 304 without a
 * body; anything else reads as usual.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMember, fhirClient, type FhirClient } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

describe('conditional read', () => {
  let server: TestServer;
  let fhir: FhirClient;

  before(async () => {
    server = await startTestServer();
    fhir = fhirClient(server, (await createMember(server)).token);
  });
  after(() => server.close());

  it('If-None-Match: 304 for the current version (or *), 200 once it changed', async () => {
    const patient = (await fhir.post('Patient', { resourceType: 'Patient' })).body;
    const etag = `W/"${patient.meta.versionId}"`;
    const same = await fhir.get(`Patient/${patient.id}`, { 'if-none-match': etag });
    assert.equal(same.status, 304);
    assert.equal(same.body, undefined);
    assert.equal(same.headers.get('etag'), etag);
    assert.ok(same.headers.get('last-modified'));
    assert.equal((await fhir.get(`Patient/${patient.id}`, { 'if-none-match': `"other", ${etag}` })).status, 304);
    assert.equal((await fhir.get(`Patient/${patient.id}`, { 'if-none-match': '*' })).status, 304);
    await fhir.put(`Patient/${patient.id}`, { ...patient, active: true });
    const changed = await fhir.get(`Patient/${patient.id}`, { 'if-none-match': etag });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.active, true);
  });

  it('If-Modified-Since: 304 at or after the last change, 200 before it or when not a date', async () => {
    const patient = (await fhir.post('Patient', { resourceType: 'Patient' })).body;
    const modified = new Date(patient.meta.lastUpdated);
    const at = modified.toUTCString();
    assert.equal((await fhir.get(`Patient/${patient.id}`, { 'if-modified-since': at })).status, 304);
    assert.equal((await fhir.get(`Patient/${patient.id}`, { 'if-modified-since': new Date(modified.getTime() + 60_000).toUTCString() })).status, 304);
    assert.equal((await fhir.get(`Patient/${patient.id}`, { 'if-modified-since': new Date(modified.getTime() - 60_000).toUTCString() })).status, 200);
    assert.equal((await fhir.get(`Patient/${patient.id}`, { 'if-modified-since': 'yesterday' })).status, 200);
    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3).
    assert.equal((await fhir.get(`Patient/${patient.id}`, { 'if-none-match': 'W/"old"', 'if-modified-since': at })).status, 200);
    server.clock.advance(120_000);
    await fhir.put(`Patient/${patient.id}`, { ...patient, active: false });
    assert.equal((await fhir.get(`Patient/${patient.id}`, { 'if-modified-since': at })).status, 200);
  });

  it('a deleted or unknown resource still answers 410 or 404', async () => {
    const patient = (await fhir.post('Patient', { resourceType: 'Patient' })).body;
    await fhir.delete(`Patient/${patient.id}`);
    assert.equal((await fhir.get(`Patient/${patient.id}`, { 'if-none-match': '*' })).status, 410);
    assert.equal((await fhir.get('Patient/unknown-id', { 'if-none-match': '*' })).status, 404);
  });
});
