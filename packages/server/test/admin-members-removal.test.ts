/**
 * Removing a member and bringing it back: the removed member's tokens stop at once, its
 * Logins are revoked, the profile and User stay, history is kept; restore brings the same
 * membership back, and the member signs in again with a new token (the old one stays dead).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MedplumClient, OperationOutcomeError } from '@medplum/core';
import type { Login, ProjectMembership, User } from '@medplum/fhirtypes';
import { SYSTEM_PROJECT_ID, systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { exchangeCode, login } from './auth-client.js';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type FhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

const PASSWORD = 'a long and unusual passphrase';

describe('admin API: removing and restoring a member', () => {
  let server: TestServer;
  let owner: TestMember;
  let admin: FhirClient;
  let medplum: MedplumClient;

  before(async () => {
    server = await startTestServer();
    owner = await createMember(server);
    admin = fhirClient(server, owner.token);
    medplum = new MedplumClient({ baseUrl: server.baseUrl, fetch: globalThis.fetch.bind(globalThis) });
    medplum.setAccessToken(owner.token);
  });
  after(() => server.close());

  const memberPath = (id: string, rest = '') => `/admin/projects/${owner.projectId}/members/${id}${rest}`;

  /** A non-admin member with a password, so it can sign in through /auth/login. */
  async function memberWithPassword(): Promise<TestMember> {
    const member = await createMember(server, { projectId: owner.projectId, admin: false });
    const system = new SystemRepository(server.deps);
    const scope = systemScope(SYSTEM_PROJECT_ID);
    const user = (await system.read<User>(scope, 'User', member.userId)) as User & { id: string };
    await system.update<User>(scope, { ...user, passwordHash: await server.deps.hasher.hash(PASSWORD) });
    return member;
  }

  async function readLogin(id: string): Promise<Login> {
    return (await new SystemRepository(server.deps).read<Login>(systemScope(SYSTEM_PROJECT_ID), 'Login', id)) as Login;
  }

  it('refuses to remove the project owner (400), writing nothing', async () => {
    const before = await countRows(server, owner.projectId);
    const res = await admin.delete(memberPath(owner.membershipId));
    expectOutcome(res, 400);
    assert.match(JSON.stringify(res.body), /Cannot delete the owner of the project/);
    assert.deepEqual(await countRows(server, owner.projectId), before);
  });

  it('removal cuts the member’s token off at once, revokes its logins, keeps profile, User and history', async () => {
    const member = await memberWithPassword();
    const signedIn = await login(server, member.email, PASSWORD);
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    const second = await exchangeCode(server, signedIn.body.code, signedIn.verifier);
    const client = fhirClient(server, member.token);
    assert.equal((await client.get(member.profile)).status, 200, 'the token works before');
    assert.equal((await fhirClient(server, second.accessToken).get(member.profile)).status, 200);

    await medplum.delete(memberPath(member.membershipId));

    assert.equal((await client.get(member.profile)).status, 401, 'the same token is refused now');
    assert.equal((await fhirClient(server, second.accessToken).get(member.profile)).status, 401);
    assert.equal((await readLogin(member.loginId)).revoked, true, 'the factory’s Login is revoked');
    // The profile and the User stay; the membership is gone, with its history kept.
    assert.equal((await admin.get(member.profile)).status, 200);
    assert.ok(await new SystemRepository(server.deps).read<User>(systemScope(SYSTEM_PROJECT_ID), 'User', member.userId));
    expectOutcome(await admin.get(`ProjectMembership/${member.membershipId}`), 410);
    expectOutcome(await admin.get(memberPath(member.membershipId)), 410);
    const history = await admin.get<{ entry: Array<{ request: { method: string } }> }>(`ProjectMembership/${member.membershipId}/_history`);
    assert.deepEqual(history.body.entry.map((e) => e.request.method), ['DELETE', 'POST']);
    // Signing in again finds no membership.
    const again = await login(server, member.email, PASSWORD);
    assert.equal(again.body.code, undefined, JSON.stringify(again.body));

    // It appears only in the removed list, as it was.
    const current = await admin.get<{ members: Array<{ id: string }> }>(`/admin/projects/${owner.projectId}/members`);
    assert.ok(!current.body.members.some((m) => m.id === member.membershipId));
    const removed = await admin.get<{ members: Array<{ id: string; removed: boolean; membership: ProjectMembership; email?: string }> }>(
      `/admin/projects/${owner.projectId}/members?removed=true`,
    );
    const entry = removed.body.members.find((m) => m.id === member.membershipId);
    assert.equal(entry?.removed, true);
    assert.equal(entry?.email, member.email);
    assert.equal(entry?.membership.profile?.reference, member.profile);

    // Removing it again is a conflict, and writes nothing.
    const before = await countRows(server, owner.projectId);
    expectOutcome(await admin.delete(memberPath(member.membershipId)), 409);
    assert.deepEqual(await countRows(server, owner.projectId), before);
  });

  it('restore brings the same membership back; the member signs in again, the old token stays dead', async () => {
    const member = await memberWithPassword();
    const policy = (await admin.post('AccessPolicy', { resourceType: 'AccessPolicy', name: 'P', resource: [{ resourceType: 'Practitioner' }] })).body;
    const current = (await admin.get<ProjectMembership>(memberPath(member.membershipId))).body;
    const changed = await admin.post<ProjectMembership>(memberPath(member.membershipId), { ...current, userName: 'kept', accessPolicy: { reference: `AccessPolicy/${policy.id}` } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal((await admin.delete(memberPath(member.membershipId))).status, 200);

    const restored = (await medplum.post(memberPath(member.membershipId, '/restore'), {})) as ProjectMembership;
    assert.equal(restored.id, member.membershipId);
    assert.equal(restored.userName, 'kept');
    assert.deepEqual(restored.accessPolicy, { reference: `AccessPolicy/${policy.id}` });
    assert.deepEqual(restored.profile, changed.body.profile);
    assert.deepEqual(restored.user, changed.body.user);
    assert.notEqual(restored.meta?.versionId, changed.body.meta?.versionId);

    assert.equal((await fhirClient(server, member.token).get(member.profile)).status, 401, 'the old login stays revoked');
    const signedIn = await login(server, member.email, PASSWORD);
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.ok(signedIn.body.code, 'the member signs in again');
    const tokens = await exchangeCode(server, signedIn.body.code, signedIn.verifier);
    assert.equal((await fhirClient(server, tokens.accessToken).get(member.profile)).status, 200);

    // It is searchable again (its index rows came back) and listed among current members.
    const search = await admin.get<{ entry?: Array<{ resource: { id: string } }> }>(`ProjectMembership?profile=${member.profile}`);
    assert.deepEqual(search.body.entry?.map((e) => e.resource.id), [member.membershipId]);
    const history = await admin.get<{ entry: Array<{ request: { method: string } }> }>(`ProjectMembership/${member.membershipId}/_history`);
    assert.equal(history.body.entry.length, 4);

    // Restoring a membership that is not removed: 409, nothing written.
    const before = await countRows(server, owner.projectId);
    await assert.rejects(
      () => medplum.post(memberPath(member.membershipId, '/restore'), {}),
      (err: unknown) => err instanceof OperationOutcomeError && err.outcome.issue?.[0]?.code === 'conflict',
    );
    assert.deepEqual(await countRows(server, owner.projectId), before);
  });

  it('refuses to restore a membership whose profile or access policy is gone (409)', async () => {
    const member = await createMember(server, { projectId: owner.projectId, admin: false });
    assert.equal((await admin.delete(memberPath(member.membershipId))).status, 200);
    // With the membership removed, its profile may be deleted.
    assert.equal((await admin.delete(member.profile)).status, 200);
    const before = await countRows(server, owner.projectId);
    expectOutcome(await admin.post(memberPath(member.membershipId, '/restore'), {}), 409, 'profile');
    assert.deepEqual(await countRows(server, owner.projectId), before);

    const other = await createMember(server, { projectId: owner.projectId, admin: false });
    const policy = (await admin.post('AccessPolicy', { resourceType: 'AccessPolicy', name: 'Soon gone', resource: [{ resourceType: 'Patient' }] })).body;
    const current = (await admin.get<ProjectMembership>(memberPath(other.membershipId))).body;
    assert.equal((await admin.post(memberPath(other.membershipId), { ...current, accessPolicy: { reference: `AccessPolicy/${policy.id}` } })).status, 200);
    assert.equal((await admin.delete(memberPath(other.membershipId))).status, 200);
    assert.equal((await admin.delete(`AccessPolicy/${policy.id}`)).status, 200);
    expectOutcome(await admin.post(memberPath(other.membershipId, '/restore'), {}), 409, 'accessPolicy');
  });

  it('records member-remove and member-restore AuditEvents, attributable after removal', async () => {
    const member = await createMember(server, { projectId: owner.projectId, admin: false });
    assert.equal((await admin.delete(memberPath(member.membershipId))).status, 200);
    assert.equal((await admin.post(memberPath(member.membershipId, '/restore'), {})).status, 200);
    const events = await admin.get<{ entry?: Array<{ resource: { subtype?: Array<{ code?: string }>; action?: string; entity?: Array<{ what?: { reference?: string } }>; agent?: Array<{ who?: { reference?: string } }> } }> }>(
      'AuditEvent?_count=200',
    );
    const about = (events.body.entry ?? []).filter((e) => e.resource.entity?.some((x) => x.what?.reference === `ProjectMembership/${member.membershipId}`));
    const codes = about.map((e) => e.resource.subtype?.[0]?.code).sort();
    assert.deepEqual(codes, ['member-remove', 'member-restore']);
    for (const e of about) assert.equal(e.resource.agent?.[0]?.who?.reference, `User/${owner.userId}`);
  });
});
