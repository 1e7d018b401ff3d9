/**
 * The project and member routes of the admin API: the project read, the member list, reading
 * and changing a membership. Driven through MedplumClient (Medplum-style calls) and plain HTTP.
 * Removal and restore are in admin-members-removal.test.ts; bad input in
 * admin-members-input.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MedplumClient, OperationOutcomeError } from '@medplum/core';
import type { AccessPolicy, Patient, Project, ProjectMembership, User } from '@medplum/fhirtypes';
import { SYSTEM_PROJECT_ID, systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { expectOutcome } from './expect-outcome.js';
import { createMember, fhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

interface MemberEntry {
  id: string;
  membership: ProjectMembership & { id: string };
  profile: { reference: string; display?: string };
  email?: string;
  admin: boolean;
  accessPolicy: Array<{ reference: string }>;
  active: boolean;
  inviteState: 'pending' | 'accepted';
  removed: boolean;
  owner: boolean;
}

describe('admin API: project and members', () => {
  let server: TestServer;
  let owner: TestMember;
  let member: TestMember;
  let medplum: MedplumClient;
  let policy: AccessPolicy & { id: string };

  before(async () => {
    server = await startTestServer();
    owner = await createMember(server);
    member = await createMember(server, { projectId: owner.projectId, admin: false });
    medplum = new MedplumClient({ baseUrl: server.baseUrl, fetch: globalThis.fetch.bind(globalThis) });
    medplum.setAccessToken(owner.token);
    policy = await medplum.createResource<AccessPolicy>({ resourceType: 'AccessPolicy', name: 'Patients only', resource: [{ resourceType: 'Patient' }] }) as AccessPolicy & { id: string };
  });
  after(() => server.close());

  const admin = (token = owner.token) => fhirClient(server, token);
  const path = (rest = '') => `/admin/projects/${owner.projectId}${rest}`;
  /** MedplumClient caches GETs; these tests read after writing. */
  const freshGet = (url: string) => {
    medplum.invalidateAll();
    return medplum.get(url);
  };

  it('GET /admin/projects/:id answers the project and its settings, never its secrets', async () => {
    const system = new SystemRepository(server.deps);
    const scope = systemScope(owner.projectId);
    const stored = (await system.read<Project>(scope, 'Project', owner.projectId)) as Project & { id: string };
    await system.update<Project>(scope, {
      ...stored,
      description: 'A clinic',
      setting: [{ name: 'theme', valueString: 'blue' }],
      secret: [{ name: 'apiKey', valueString: 'do-not-show' }],
      systemSecret: [{ name: 'sys', valueString: 'never' }],
    });
    const res = await freshGet(path());
    assert.equal(res.project.id, owner.projectId);
    assert.equal(res.project.description, 'A clinic');
    assert.deepEqual(res.project.owner, { reference: `User/${owner.userId}` });
    assert.deepEqual(res.project.setting, [{ name: 'theme', valueString: 'blue' }]);
    assert.equal(res.project.secret, undefined);
    assert.equal(res.project.systemSecret, undefined);
    assert.doesNotMatch(JSON.stringify(res), /do-not-show|never/);
  });

  it('lists members with profile, email, admin flag, policies, invite state and owner', async () => {
    const res = await admin().get<{ members: MemberEntry[]; next?: string }>(path('/members'));
    assert.equal(res.status, 200);
    assert.equal(res.body.next, undefined);
    const byId = new Map(res.body.members.map((m) => [m.id, m]));
    const ownerEntry = byId.get(owner.membershipId);
    const memberEntry = byId.get(member.membershipId);
    assert.ok(ownerEntry && memberEntry, JSON.stringify(res.body));
    assert.equal(ownerEntry.owner, true);
    assert.equal(ownerEntry.admin, true);
    assert.equal(ownerEntry.email, owner.email);
    assert.equal(ownerEntry.removed, false);
    assert.equal(ownerEntry.membership.resourceType, 'ProjectMembership');
    assert.equal(memberEntry.owner, false);
    assert.equal(memberEntry.admin, false);
    assert.equal(memberEntry.active, true);
    assert.equal(memberEntry.profile.reference, member.profile);
    assert.match(memberEntry.profile.display ?? '', /^Test Member \d+$/, 'display made from the Practitioner name');
    // The factory's users have no password: the invite is still pending.
    assert.equal(memberEntry.inviteState, 'pending');
    assert.doesNotMatch(JSON.stringify(res.body), /passwordHash/);
  });

  it('shows the invite as accepted once the user has a password', async () => {
    const other = await createMember(server, { projectId: owner.projectId, admin: false });
    const system = new SystemRepository(server.deps);
    const scope = systemScope(SYSTEM_PROJECT_ID);
    const user = (await system.read<User>(scope, 'User', other.userId)) as User & { id: string };
    await system.update<User>(scope, { ...user, passwordHash: await server.deps.hasher.hash('a long enough passphrase') });
    const res = await admin().get<{ members: MemberEntry[] }>(path('/members'));
    const entry = res.body.members.find((m) => m.id === other.membershipId);
    assert.equal(entry?.inviteState, 'accepted');
  });

  it('filters by profileType and pages with _count and next', async () => {
    const system = new SystemRepository(server.deps);
    const scope = systemScope(owner.projectId);
    const patient = await system.create<Patient>(scope, { resourceType: 'Patient', name: [{ given: ['Pat'], family: 'Ient' }] });
    const patientMembership = await system.create<ProjectMembership>(scope, {
      resourceType: 'ProjectMembership',
      project: { reference: `Project/${owner.projectId}` },
      user: { reference: `User/${member.userId}` },
      profile: { reference: `Patient/${patient.id}` },
    });
    const patients = await admin().get<{ members: MemberEntry[] }>(path('/members?profileType=Patient'));
    assert.deepEqual(patients.body.members.map((m) => m.id), [patientMembership.id]);
    assert.equal(patients.body.members[0]?.profile.display, 'Pat Ient');

    const all = (await admin().get<{ members: MemberEntry[] }>(path('/members'))).body.members.map((m) => m.id);
    assert.ok(all.length >= 4);
    const seen: string[] = [];
    let next: string | undefined = path('/members?_count=2');
    while (next) {
      const page: { status: number; body: { members: MemberEntry[]; next?: string } } = await admin().get(next);
      assert.equal(page.status, 200);
      assert.ok(page.body.members.length <= 2);
      seen.push(...page.body.members.map((m) => m.id));
      next = page.body.next;
    }
    assert.deepEqual(seen, all);
  });

  it('reads a membership; another project’s is 403 by path and 404 by id', async () => {
    const read = await freshGet(path(`/members/${member.membershipId}`));
    assert.equal(read.resourceType, 'ProjectMembership');
    assert.equal(read.id, member.membershipId);

    const stranger = await createMember(server);
    expectOutcome(await admin().get(`/admin/projects/${stranger.projectId}/members/${stranger.membershipId}`), 403);
    expectOutcome(await admin().get(path(`/members/${stranger.membershipId}`)), 404);
    expectOutcome(await admin().get(path(`/members/not-a-membership`)), 404);
  });

  it('a non-admin gets 403 on every route', async () => {
    const client = admin(member.token);
    for (const res of [
      await client.get(path()),
      await client.get(path('/members')),
      await client.get(path(`/members/${member.membershipId}`)),
      await client.post(path(`/members/${member.membershipId}`), { resourceType: 'ProjectMembership', id: member.membershipId, admin: true }),
      await client.delete(path(`/members/${owner.membershipId}`)),
      await client.post(path(`/members/${member.membershipId}/restore`), {}),
    ]) {
      expectOutcome(res, 403);
    }
    const after = await admin().get<ProjectMembership>(path(`/members/${member.membershipId}`));
    assert.equal(after.body.admin, false, 'the member did not promote itself');
  });

  it('changes accessPolicy, access, admin and userName through MedplumClient; the change applies to the next request', async () => {
    const current = (await freshGet(path(`/members/${member.membershipId}`))) as ProjectMembership;
    // Not yet an admin: the member cannot read ProjectMembership through FHIR.
    assert.equal((await admin(member.token).get('ProjectMembership')).status, 403);
    const updated = (await medplum.post(path(`/members/${member.membershipId}`), {
      ...current,
      admin: true,
      userName: 'nurse.jane',
      accessPolicy: { reference: `AccessPolicy/${policy.id}` },
      access: [{ policy: { reference: `AccessPolicy/${policy.id}` }, parameter: [{ name: 'ward', valueString: '3' }] }],
    })) as ProjectMembership;
    assert.equal(updated.admin, true);
    assert.equal(updated.userName, 'nurse.jane');
    assert.deepEqual(updated.accessPolicy, { reference: `AccessPolicy/${policy.id}` });
    assert.equal(updated.access?.[0]?.parameter?.[0]?.valueString, '3');
    assert.deepEqual(updated.profile, current.profile);
    assert.notEqual(updated.meta?.versionId, current.meta?.versionId);
    assert.equal((await admin(member.token).get('ProjectMembership')).status, 200, 'the token is an admin now');

    // Fields the body leaves out are removed, as with a PUT.
    const { accessPolicy: _p, access: _a, userName: _u, ...rest } = updated;
    const cleared = (await medplum.post(path(`/members/${member.membershipId}`), { ...rest, admin: false })) as ProjectMembership;
    assert.equal(cleared.accessPolicy, undefined);
    assert.equal(cleared.access, undefined);
    assert.equal(cleared.admin, false);

    const list = await admin().get<{ members: MemberEntry[] }>(path('/members'));
    assert.equal(list.body.members.find((m) => m.id === member.membershipId)?.admin, false);
  });

  it('lists both policy references and records an AuditEvent for a change', async () => {
    const current = (await admin().get<ProjectMembership>(path(`/members/${member.membershipId}`))).body;
    const second = await medplum.createResource<AccessPolicy>({ resourceType: 'AccessPolicy', name: 'Second', resource: [{ resourceType: 'Observation' }] });
    const res = await admin().post(path(`/members/${member.membershipId}`), {
      ...current,
      accessPolicy: { reference: `AccessPolicy/${policy.id}` },
      access: [{ policy: { reference: `AccessPolicy/${second.id}` } }, { policy: { reference: `AccessPolicy/${policy.id}` } }],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const list = await admin().get<{ members: MemberEntry[] }>(path('/members'));
    const entry = list.body.members.find((m) => m.id === member.membershipId);
    assert.deepEqual(entry?.accessPolicy.map((r) => r.reference), [`AccessPolicy/${policy.id}`, `AccessPolicy/${second.id}`]);

    const events = await admin().get<{ entry?: Array<{ resource: { subtype?: Array<{ code?: string }>; entity?: Array<{ what?: { reference?: string } }>; agent?: Array<{ who?: { reference?: string } }> } }> }>(
      'AuditEvent?_count=100',
    );
    const updates = (events.body.entry ?? []).filter(
      (e) => e.resource.subtype?.[0]?.code === 'member-update' && e.resource.entity?.some((x) => x.what?.reference === `ProjectMembership/${member.membershipId}`),
    );
    assert.ok(updates.length >= 1, 'an AuditEvent per change');
    assert.equal(updates[0]?.resource.agent?.[0]?.who?.reference, `User/${owner.userId}`);
  });

  it('refuses, with MedplumClient, to remove the admin flag from or deactivate the owner', async () => {
    const current = (await freshGet(path(`/members/${owner.membershipId}`))) as ProjectMembership;
    for (const [change, field] of [
      [{ admin: false }, 'admin'],
      [{ active: false }, 'active'],
    ] as const) {
      await assert.rejects(
        () => medplum.post(path(`/members/${owner.membershipId}`), { ...current, ...change }),
        (err: unknown) => err instanceof OperationOutcomeError && (err.outcome.issue?.[0]?.expression ?? []).includes(field),
      );
    }
    const { admin: _admin, ...withoutAdmin } = current;
    expectOutcome(await admin().post(path(`/members/${owner.membershipId}`), withoutAdmin), 400, 'admin');
    const after = await admin().get<ProjectMembership>(path(`/members/${owner.membershipId}`));
    assert.equal(after.body.meta?.versionId, current.meta?.versionId, 'nothing written');
  });

  it('a super admin manages another project by its path; an unknown project is 404 to it', async () => {
    const root = await createMember(server, { superAdmin: true });
    const client = admin(root.token);
    const res = await client.get<{ members: MemberEntry[] }>(path('/members'));
    assert.equal(res.status, 200);
    assert.ok(res.body.members.some((m) => m.id === member.membershipId));
    expectOutcome(await client.get(`/admin/projects/${server.deps.random.uuid()}`), 404);
    expectOutcome(await client.get(`/admin/projects/${server.deps.random.uuid()}/members`), 404);
  });
});
