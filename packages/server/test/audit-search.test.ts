/**
 * The audit log as admins read it: `GET /fhir/R4/AuditEvent` searched by agent, entity, date
 * and subtype finds the events of the admin's own project only, even when one User acts in
 * several projects; and a removed member's past actions still name that User.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent, Bundle, ProjectMembership } from '@medplum/fhirtypes';
import { settleAuditWrites } from '../src/audit/sign-in-audit.js';
import { systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { exchangeCode, freshAddress, login, post } from './auth-client.js';
import { createMember, fhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { memberWithPassword, PASSWORD } from './oauth-fixtures.js';

describe('audit: search by admins', () => {
  let server: TestServer;
  let alice: TestMember;
  let projectA: TestMember;
  let projectB: TestMember;
  let membershipB: ProjectMembership & { id: string };

  async function events(admin: TestMember, query: string): Promise<AuditEvent[]> {
    const res = await fhirClient(server, admin.token).get<Bundle<AuditEvent>>(`AuditEvent?${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body.entry ?? []).map((e) => e.resource as AuditEvent);
  }

  async function signIn(member: TestMember, projectId: string): Promise<void> {
    const started = await login(server, member.email, PASSWORD);
    assert.equal(started.status, 200, JSON.stringify(started.body));
    let code = started.body.code as string | undefined;
    if (!code) {
      const choice = (started.body.memberships as Array<{ id: string; project: { reference: string } }>).find((m) => m.project.reference === `Project/${projectId}`);
      assert.ok(choice);
      code = (await post(server, 'auth/profile', { login: started.body.login, profile: choice.id })).body.code;
    }
    await exchangeCode(server, code as string, started.verifier);
  }

  before(async () => {
    server = await startTestServer();
    // Alice is a (non-admin) member of project A and of project B; each project has its own admin.
    projectA = await createMember(server);
    projectB = await createMember(server);
    alice = await memberWithPassword(server, { projectId: projectA.projectId, admin: false });
    membershipB = await new SystemRepository(server.deps).create<ProjectMembership>(systemScope(projectB.projectId), {
      resourceType: 'ProjectMembership',
      project: { reference: `Project/${projectB.projectId}` },
      user: { reference: `User/${alice.userId}` },
      profile: { reference: alice.profile },
      active: true,
    });
    await signIn(alice, projectA.projectId);
    await signIn(alice, projectB.projectId);
    assert.equal((await post(server, 'auth/login', { email: alice.email, password: 'certainly not hers' }, { from: freshAddress() })).status, 400);
    await settleAuditWrites(server.deps.db);
  });
  after(() => server.close());

  it("finds by agent only the events of the admin's own project", async () => {
    const inA = await events(projectA, `agent=User/${alice.userId}`);
    const inB = await events(projectB, `agent=User/${alice.userId}`);
    assert.deepEqual(inA.map((e) => e.subtype?.[0]?.code).sort(), ['login', 'login-failed']);
    assert.deepEqual(inB.map((e) => e.subtype?.[0]?.code).sort(), ['login', 'login-failed']);
    const idsA = new Set(inA.map((e) => e.id));
    assert.ok(inB.every((e) => !idsA.has(e.id)), 'no event is visible in both projects');
    assert.ok(inA.every((e) => e.entity?.some((x) => x.what?.reference === `ProjectMembership/${alice.membershipId}`)));
    // An id of project B's event read from project A: not found, like any unknown id.
    assert.equal((await fhirClient(server, projectA.token).get(`AuditEvent/${inB[0]?.id}`)).status, 404);
  });

  it('finds by subtype, entity and date', async () => {
    const failed = await events(projectA, `subtype=login-failed`);
    assert.ok(failed.length >= 1 && failed.every((e) => e.subtype?.[0]?.code === 'login-failed'));
    const byEntity = await events(projectB, `entity=ProjectMembership/${membershipB.id}`);
    assert.deepEqual(byEntity.map((e) => e.subtype?.[0]?.code).sort(), ['login', 'login-failed']);

    const now = server.deps.clock.now();
    const hourAgo = new Date(now.getTime() - 3600_000).toISOString();
    const inAnHour = new Date(now.getTime() + 3600_000).toISOString();
    assert.equal((await events(projectA, `agent=User/${alice.userId}&date=ge${encodeURIComponent(hourAgo)}`)).length, 2);
    assert.equal((await events(projectA, `agent=User/${alice.userId}&date=ge${encodeURIComponent(inAnHour)}`)).length, 0);
    assert.equal((await events(projectA, `agent=User/${alice.userId}&subtype=login&date=lt${encodeURIComponent(inAnHour)}`)).length, 1);
  });

  it("keeps a removed member's past actions attributable to the User", async () => {
    const bob = await memberWithPassword(server, { projectId: projectA.projectId, admin: false });
    await signIn(bob, projectA.projectId);
    const removed = await fhirClient(server, projectA.token).delete(`/admin/projects/${projectA.projectId}/members/${bob.membershipId}`);
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.equal((await fhirClient(server, bob.token).get('Patient')).status, 401, 'the removed member is cut off');

    const past = await events(projectA, `agent=User/${bob.userId}&subtype=login`);
    assert.equal(past.length, 1);
    assert.equal(past[0]?.agent?.[0]?.who?.reference, `User/${bob.userId}`);
    assert.equal(past[0]?.agent?.[0]?.extension?.[0]?.valueReference?.reference, bob.profile);
    const removal = await events(projectA, `subtype=member-remove&entity=ProjectMembership/${bob.membershipId}`);
    assert.equal(removal.length, 1);
    assert.equal(removal[0]?.agent?.[0]?.who?.reference, `User/${projectA.userId}`);
  });
});
