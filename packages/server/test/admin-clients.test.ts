/**
 * `POST /admin/projects/:projectId/client` and its rotate-secret, disable and enable routes:
 * the client made with its membership and shown its secret once, signing in through
 * MedplumClient's `startClientLogin`, a rotated secret refused at once (token and
 * introspection), a disabled client refused with its existing tokens, the audit records, and
 * every refusal (bad input, non-admin, another project) writing nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MedplumClient } from '@medplum/core';
import type { AccessPolicy, AuditEvent, Bundle, ClientApplication, ProjectMembership } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { basic, formPost, memberWithPassword, signInThroughClient, tokenRequest } from './oauth-fixtures.js';

type Created = ClientApplication & { id: string; secret: string };

describe('admin API: client applications', () => {
  let server: TestServer;
  let admin: TestMember;

  before(async () => {
    server = await startTestServer();
    admin = await createMember(server);
  });
  after(() => server.close());

  const adminApi = (member: TestMember = admin) => fhirClient(server, member.token);
  const clientPath = (projectId: string, suffix = '') => `/admin/projects/${projectId}/client${suffix}`;

  async function createClient(body: Record<string, unknown> = {}, member: TestMember = admin): Promise<Created> {
    const res = await adminApi(member).post<Created>(clientPath(member.projectId), { name: 'Lab interface', ...body }, { 'content-type': 'application/json' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  function clientCredentials(id: string, secret: string) {
    return tokenRequest(server, { grant_type: 'client_credentials' }, basic(id, secret));
  }

  async function auditEvents(member: TestMember, query: string): Promise<AuditEvent[]> {
    const res = await adminApi(member).get<Bundle<AuditEvent>>(`AuditEvent?${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body.entry ?? []).map((e) => e.resource as AuditEvent);
  }

  it('creates an active client with a strong secret and its own membership, and MedplumClient signs in with it', async () => {
    const client = await createClient({ description: 'HL7 feed', redirectUris: ['https://lab.example/callback'], pkceOptional: true });
    assert.equal(client.resourceType, 'ClientApplication');
    assert.equal(client.status, 'active');
    assert.equal(client.name, 'Lab interface');
    assert.equal(client.description, 'HL7 feed');
    assert.deepEqual(client.redirectUris, ['https://lab.example/callback']);
    assert.equal(client.pkceOptional, true);
    assert.match(client.secret, /^[0-9a-f]{64}$/);

    const memberships = await adminApi().get<Bundle<ProjectMembership>>(`ProjectMembership?user=ClientApplication/${client.id}`);
    assert.equal(memberships.body.entry?.length, 1);
    const membership = memberships.body.entry?.[0]?.resource as ProjectMembership;
    assert.equal(membership.profile?.reference, `ClientApplication/${client.id}`);
    assert.equal(membership.active, true);

    const medplum = new MedplumClient({ baseUrl: server.baseUrl, fetch: globalThis.fetch.bind(globalThis) });
    await medplum.startClientLogin(client.id, client.secret);
    assert.equal(medplum.getActiveLogin()?.profile?.reference, `ClientApplication/${client.id}`);
    const self = await medplum.readResource('ClientApplication', client.id).catch(() => undefined);
    // The client is not an admin: ClientApplication is for project admins only. It can reach FHIR with its token.
    assert.equal(self, undefined);
    const patient = await medplum.createResource({ resourceType: 'Patient', name: [{ family: 'FromClient' }] });
    assert.ok(patient.id);

    const [created] = await auditEvents(admin, `subtype=client-create&entity=ClientApplication/${client.id}`);
    assert.ok(created, 'a client-create audit event');
    assert.equal(created.agent?.[0]?.who?.reference, `User/${admin.userId}`);
    assert.ok(created.entity?.some((e) => e.what?.reference === `ProjectMembership/${membership.id}`));
  });

  it('links the access policy of this project to the client membership', async () => {
    const policy = await adminApi().post<AccessPolicy & { id: string }>('AccessPolicy', { resourceType: 'AccessPolicy', name: 'Read patients', resource: [{ resourceType: 'Patient', readonly: true }] });
    assert.equal(policy.status, 201);
    const client = await createClient({ accessPolicy: { reference: `AccessPolicy/${policy.body.id}` } });
    const memberships = await adminApi().get<Bundle<ProjectMembership>>(`ProjectMembership?user=ClientApplication/${client.id}`);
    assert.equal(memberships.body.entry?.[0]?.resource?.accessPolicy?.reference, `AccessPolicy/${policy.body.id}`);
  });

  it('ignores fields the server sets itself (secret, status, id)', async () => {
    const client = await createClient({ secret: 'chosen-by-the-caller', status: 'off', id: 'my-own-id' });
    assert.notEqual(client.secret, 'chosen-by-the-caller');
    assert.match(client.secret, /^[0-9a-f]{64}$/);
    assert.equal(client.status, 'active');
    assert.notEqual(client.id, 'my-own-id');
  });

  it('stores token lifetimes given as durations or seconds', async () => {
    const client = await createClient({ accessTokenLifetime: '10m', refreshTokenLifetime: 3600 });
    assert.equal(client.accessTokenLifetime, '10m');
    assert.equal(client.refreshTokenLifetime, '3600s');
  });

  it('rotates the secret: the old one is refused at once for tokens and introspection', async () => {
    const client = await createClient();
    const first = await clientCredentials(client.id, client.secret);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal((await formPost(server, 'oauth2/introspect', { token: first.body.access_token }, basic(client.id, client.secret))).body.active, true);

    const rotated = await adminApi().post<Created>(clientPath(admin.projectId, `/${client.id}/rotate-secret`), {}, { 'content-type': 'application/json' });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.match(rotated.body.secret, /^[0-9a-f]{64}$/);
    assert.notEqual(rotated.body.secret, client.secret);

    assert.equal((await clientCredentials(client.id, client.secret)).status, 401);
    assert.equal((await formPost(server, 'oauth2/introspect', { token: first.body.access_token }, basic(client.id, client.secret))).status, 401);
    const second = await clientCredentials(client.id, rotated.body.secret);
    assert.equal(second.status, 200);
    // A token obtained with the old (perhaps leaked) secret is revoked; one with the new works.
    assert.equal((await formPost(server, 'oauth2/introspect', { token: first.body.access_token }, basic(client.id, rotated.body.secret))).body.active, false);
    assert.equal((await fhirClient(server, first.body.access_token).get('Patient')).status, 401);
    assert.equal((await fhirClient(server, second.body.access_token).get('Patient')).status, 200);

    const events = await auditEvents(admin, `subtype=secret-rotate&entity=ClientApplication/${client.id}`);
    assert.equal(events.length, 1);
  });

  it('disables a client: client_credentials and its existing tokens are refused until it is enabled again', async () => {
    const client = await createClient();
    const issued = await clientCredentials(client.id, client.secret);
    assert.equal(issued.status, 200);
    const asClient = fhirClient(server, issued.body.access_token);
    assert.equal((await asClient.get('Patient')).status, 200);

    const disabled = await adminApi().post<ClientApplication>(clientPath(admin.projectId, `/${client.id}/disable`), {}, { 'content-type': 'application/json' });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    assert.equal(disabled.body.status, 'off');
    assert.equal(disabled.body.secret, undefined, 'the secret is shown only when it is made');

    assert.equal((await asClient.get('Patient')).status, 401);
    const refused = await clientCredentials(client.id, client.secret);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'invalid_client');

    const enabled = await adminApi().post<ClientApplication>(clientPath(admin.projectId, `/${client.id}/enable`), {}, { 'content-type': 'application/json' });
    assert.equal(enabled.body.status, 'active');
    assert.equal((await clientCredentials(client.id, client.secret)).status, 200);
    // Its tokens from before were revoked, not paused: enabling does not bring them back.
    assert.equal((await asClient.get('Patient')).status, 401);

    const updates = await auditEvents(admin, `subtype=client-update&entity=ClientApplication/${client.id}`);
    assert.equal(updates.length, 2);
  });

  it("disabling a client revokes users' sign-ins made through it; rotating its secret leaves them", async () => {
    const client = await createClient();
    const member = await memberWithPassword(server, { projectId: admin.projectId, admin: false });
    const before = await signInThroughClient(server, member.email, client);
    const rotated = await adminApi().post<Created>(clientPath(admin.projectId, `/${client.id}/rotate-secret`), {}, { 'content-type': 'application/json' });
    const current = rotated.body;
    assert.equal((await fhirClient(server, before.access_token).get('Patient')).status, 200, 'a user sign-in survives a rotation');

    assert.equal((await adminApi().post(clientPath(admin.projectId, `/${client.id}/disable`), {}, { 'content-type': 'application/json' })).status, 200);
    assert.equal((await fhirClient(server, before.access_token).get('Patient')).status, 401);
    // The client is off, so its secret authenticates nothing: 401 invalid_client.
    assert.equal((await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: before.refresh_token }, basic(client.id, current.secret))).status, 401);
    // The admin's own sign-in (not through the client) is untouched.
    assert.equal((await fhirClient(server, admin.token).get('Patient')).status, 200);
  });

  it('answers 404 for a client of another project or an unknown id, and changes nothing', async () => {
    const other = await createMember(server);
    const foreign = await createClient({}, other);
    const before = await countRows(server, other.projectId);
    for (const suffix of ['rotate-secret', 'disable']) {
      expectOutcome(await adminApi().post(clientPath(admin.projectId, `/${foreign.id}/${suffix}`), {}, { 'content-type': 'application/json' }), 404);
    }
    expectOutcome(await adminApi().post(clientPath(admin.projectId, '/00000000-0000-4000-8000-000000000000/disable'), {}, { 'content-type': 'application/json' }), 404);
    assert.deepEqual(await countRows(server, other.projectId), before);
    assert.equal((await clientCredentials(foreign.id, foreign.secret)).status, 200);
  });
});
