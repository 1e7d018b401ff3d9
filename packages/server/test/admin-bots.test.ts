/**
 * `POST /admin/projects/:projectId/bot`: the Bot with its own membership (`user` = `profile`
 * = the Bot) and access policy, made in one transaction with its audit record. A super admin
 * may create one in another project; an unknown project is 404 and writes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccessPolicy, AuditEvent, Bot, Bundle, ProjectMembership } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

const JSON_TYPE = { 'content-type': 'application/json' };

describe('admin API: bots', () => {
  let server: TestServer;
  let admin: TestMember;

  before(async () => {
    server = await startTestServer();
    admin = await createMember(server);
  });
  after(() => server.close());

  it('creates a Bot with its membership and access policy, and records it', async () => {
    const api = fhirClient(server, admin.token);
    const policy = await api.post<AccessPolicy & { id: string }>('AccessPolicy', { resourceType: 'AccessPolicy', name: 'Bot policy', resource: [{ resourceType: 'Observation' }] });
    assert.equal(policy.status, 201);
    const before = await countRows(server, admin.projectId);

    const res = await api.post<Bot & { id: string }>(`/admin/projects/${admin.projectId}/bot`, { name: 'Nightly export', description: 'Exports results', accessPolicy: { reference: `AccessPolicy/${policy.body.id}` } }, JSON_TYPE);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.resourceType, 'Bot');
    assert.equal(res.body.name, 'Nightly export');
    assert.equal(res.body.description, 'Exports results');
    // Bot, membership and audit event: three resources, nothing else (no Binary: bots do not run yet).
    assert.equal((await countRows(server, admin.projectId)).resources, before.resources + 3);

    const read = await api.get<Bot>(`Bot/${res.body.id}`);
    assert.equal(read.status, 200);
    const memberships = await api.get<Bundle<ProjectMembership>>(`ProjectMembership?user=Bot/${res.body.id}`);
    const membership = memberships.body.entry?.[0]?.resource;
    assert.equal(membership?.profile?.reference, `Bot/${res.body.id}`);
    assert.equal(membership?.accessPolicy?.reference, `AccessPolicy/${policy.body.id}`);
    assert.equal(membership?.active, true);
    assert.notEqual(membership?.admin, true);

    const audit = await api.get<Bundle<AuditEvent>>(`AuditEvent?subtype=bot-create&entity=Bot/${res.body.id}`);
    assert.equal(audit.body.entry?.length, 1);
    assert.equal(audit.body.entry?.[0]?.resource?.agent?.[0]?.who?.reference, `User/${admin.userId}`);
  });

  it('lets a super admin create a bot in another project, and answers 404 for an unknown project', async () => {
    const superAdmin = await createMember(server, { superAdmin: true });
    const api = fhirClient(server, superAdmin.token);
    const res = await api.post<Bot & { id: string }>(`/admin/projects/${admin.projectId}/bot`, { name: 'Installed by the operator' }, JSON_TYPE);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal((await fhirClient(server, admin.token).get(`Bot/${res.body.id}`)).status, 200);

    const unknown = '00000000-0000-4000-8000-00000000abcd';
    expectOutcome(await api.post(`/admin/projects/${unknown}/bot`, { name: 'Nowhere' }, JSON_TYPE), 404);
    assert.deepEqual(await countRows(server, unknown), { resources: 0, history: 0 });
  });
});
