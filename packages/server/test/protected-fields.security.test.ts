/**
 * Fields and types the FHIR API guards beyond access policies: a ClientApplication's secret is
 * write-only (shown once by the admin API, never by a FHIR read, and kept when an admin writes
 * the client back without it), and the audit log is the server's to write and the admins' to read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent, ClientApplication } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { basic, tokenRequest } from './oauth-fixtures.js';

describe('write-only client secrets and the server-written audit log', () => {
  let server: TestServer;
  let admin: TestMember;
  let member: TestMember;
  let client: ClientApplication & { id: string; secret: string };

  before(async () => {
    server = await startTestServer();
    admin = await createMember(server);
    member = await createMember(server, { projectId: admin.projectId, admin: false });
    const created = await fhirClient(server, admin.token).post<ClientApplication & { id: string; secret: string }>(`/admin/projects/${admin.projectId}/client`, { name: 'Lab feed' }, { 'content-type': 'application/json' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    client = created.body;
  });
  after(() => server.close());

  it('never returns a client secret through FHIR: read, search, history', async () => {
    const fhir = fhirClient(server, admin.token);
    const read = await fhir.get(`ClientApplication/${client.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.secret, undefined);
    const texts = [JSON.stringify((await fhir.get(`ClientApplication?_id=${client.id}`)).body), JSON.stringify((await fhir.get(`ClientApplication/${client.id}/_history`)).body)];
    for (const text of texts) {
      assert.ok(!text.includes(client.secret), 'the secret appears nowhere in the response');
    }
  });

  it('keeps the secret when an admin writes the client back without it, and takes a new one when given', async () => {
    const fhir = fhirClient(server, admin.token);
    const read = (await fhir.get<ClientApplication & { id: string }>(`ClientApplication/${client.id}`)).body;
    const renamed = await fhir.put(`ClientApplication/${client.id}`, { ...read, name: 'Lab feed (renamed)' });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.secret, undefined);
    assert.equal((await tokenRequest(server, { grant_type: 'client_credentials' }, basic(client.id, client.secret))).status, 200);

    const chosen = 'c'.repeat(48);
    assert.equal((await fhir.put(`ClientApplication/${client.id}`, { ...read, secret: chosen })).status, 200);
    assert.equal((await tokenRequest(server, { grant_type: 'client_credentials' }, basic(client.id, client.secret))).status, 401);
    assert.equal((await tokenRequest(server, { grant_type: 'client_credentials' }, basic(client.id, chosen))).status, 200);
  });

  it('lets admins search the audit log, and nobody write it through FHIR', async () => {
    const fhir = fhirClient(server, admin.token);
    const events = await fhir.get(`AuditEvent?entity=ClientApplication/${client.id}`);
    assert.equal(events.status, 200);
    assert.ok(events.body.entry.length >= 1, 'the client-create event');
    const event = events.body.entry[0].resource as AuditEvent & { id: string };

    const before = await countRows(server, admin.projectId);
    expectOutcome(await fhir.post('AuditEvent', { ...event, id: undefined, meta: undefined }), 403);
    expectOutcome(await fhir.put(`AuditEvent/${event.id}`, { ...event, outcomeDesc: 'rewritten' }), 403);
    expectOutcome(await fhir.delete(`AuditEvent/${event.id}`), 403);
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `AuditEvent/${event.id}` } }] };
    assert.notEqual((await fhir.post('', bundle)).status, 200);
    assert.deepEqual(await countRows(server, admin.projectId), before);
    assert.equal((await fhir.get(`AuditEvent/${event.id}`)).body.outcomeDesc, event.outcomeDesc);
  });

  it('keeps the audit log from members who are not admins', async () => {
    const fhir = fhirClient(server, member.token);
    expectOutcome(await fhir.get('AuditEvent'), 403);
    const before = await countRows(server, admin.projectId);
    expectOutcome(await fhir.post('AuditEvent', { resourceType: 'AuditEvent', type: { code: 'rest' }, recorded: new Date().toISOString(), agent: [{ requestor: true }], source: { observer: { display: 'forged' } } }), 403);
    assert.deepEqual(await countRows(server, admin.projectId), before);
  });
});
