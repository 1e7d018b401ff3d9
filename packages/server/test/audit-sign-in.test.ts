/**
 * Sign-ins in the audit log: a code exchange and a client_credentials grant each record a
 * `login` AuditEvent in the membership's project (who, for whom, from where); a wrong password
 * for an existing account records `login-failed` in every project where the account has an
 * active membership and nowhere else; an unknown email records nothing, and its answer is the
 * same as a wrong password's. Refresh grants and FHIR requests record nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent, Bundle, ProjectMembership, User } from '@medplum/fhirtypes';
import { settleAuditWrites } from '../src/audit/sign-in-audit.js';
import { AUDIT_SUBTYPE_SYSTEM } from '../src/audit/audit-log.js';
import { systemScope, SYSTEM_PROJECT_ID } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { exchangeCode, freshAddress, login, post, uniqueEmail } from './auth-client.js';
import { createMember, fhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { basic, memberWithPassword, PASSWORD, tokenRequest } from './oauth-fixtures.js';

describe('audit: sign-ins', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await settleAuditWrites(server.deps.db);
    await server.close();
  });

  async function events(admin: TestMember, query: string): Promise<AuditEvent[]> {
    const res = await fhirClient(server, admin.token).get<Bundle<AuditEvent>>(`AuditEvent?${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body.entry ?? []).map((e) => e.resource as AuditEvent);
  }

  /** A second membership of the member's User in another project (active unless told). */
  async function joinProject(user: TestMember, project: TestMember, active = true): Promise<ProjectMembership & { id: string }> {
    return new SystemRepository(server.deps).create<ProjectMembership>(systemScope(project.projectId), {
      resourceType: 'ProjectMembership',
      project: { reference: `Project/${project.projectId}` },
      user: { reference: `User/${user.userId}` },
      profile: { reference: user.profile },
      active,
    });
  }

  it('records a password sign-in when its code is exchanged: who, for whom, from where', async () => {
    const member = await memberWithPassword(server);
    const from = freshAddress();
    const started = await login(server, member.email, PASSWORD, { from });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal((await events(member, `subtype=login&agent=User/${member.userId}`)).length, 0, 'nothing before the code is exchanged');
    await exchangeCode(server, started.body.code, started.verifier);

    const [event, ...more] = await events(member, `subtype=login&agent=User/${member.userId}`);
    assert.ok(event);
    assert.equal(more.length, 0);
    assert.deepEqual(event.subtype, [{ system: AUDIT_SUBTYPE_SYSTEM, code: 'login' }]);
    assert.equal(event.outcome, '0');
    const agent = event.agent?.[0];
    assert.equal(agent?.who?.reference, `User/${member.userId}`);
    assert.equal(agent?.network?.address, from);
    assert.equal(agent?.extension?.[0]?.valueReference?.reference, member.profile);
    assert.ok(event.entity?.some((e) => e.what?.reference === `ProjectMembership/${member.membershipId}`));
  });

  it('records a client_credentials grant as the client, and nothing for a refresh or a FHIR request', async () => {
    const admin = await memberWithPassword(server);
    const created = await fhirClient(server, admin.token).post<{ id: string; secret: string }>(`/admin/projects/${admin.projectId}/client`, { name: 'Feed' }, { 'content-type': 'application/json' });
    assert.equal(created.status, 201);
    const issued = await tokenRequest(server, { grant_type: 'client_credentials' }, basic(created.body.id, created.body.secret));
    assert.equal(issued.status, 200);
    const [event] = await events(admin, `subtype=login&agent=ClientApplication/${created.body.id}`);
    assert.ok(event);
    assert.equal(event.agent?.[0]?.network?.address, '127.0.0.1');
    assert.match(event.outcomeDesc ?? '', /client/);

    const started = await login(server, admin.email, PASSWORD, { scope: 'openid offline_access' });
    const tokens = await exchangeCode(server, started.body.code, started.verifier);
    const before = (await events(admin, 'subtype=login')).length;
    const refreshed = await post(server, 'oauth2/token', { grant_type: 'refresh_token', refresh_token: tokens.refreshToken }, { form: true });
    assert.equal(refreshed.status, 200);
    assert.equal((await fhirClient(server, tokens.accessToken).get('Patient')).status, 200);
    assert.equal((await events(admin, 'subtype=login')).length, before);
  });

  it('records a wrong password in every project of an active membership, and only there', async () => {
    const member = await memberWithPassword(server);
    const second = await createMember(server);
    const inactive = await createMember(server);
    await joinProject(member, second);
    await joinProject(member, inactive, false);

    const from = freshAddress();
    const wrong = await post(server, 'auth/login', { email: member.email, password: 'not the password at all' }, { from });
    assert.equal(wrong.status, 400);
    await settleAuditWrites(server.deps.db);

    for (const project of [member, second]) {
      const [event, ...more] = await events(project, `subtype=login-failed&agent=User/${member.userId}`);
      assert.ok(event, `a login-failed event in project ${project.projectId}`);
      assert.equal(more.length, 0);
      assert.equal(event.outcome, '4');
      assert.equal(event.agent?.[0]?.network?.address, from);
      assert.equal(event.agent?.[0]?.who?.display, member.email);
    }
    assert.equal((await events(inactive, `subtype=login-failed&agent=User/${member.userId}`)).length, 0);
  });

  it('records nothing for an unknown email, and answers it exactly as a wrong password', async () => {
    const member = await memberWithPassword(server);
    const unknown = uniqueEmail('nobody');
    const from = freshAddress();
    const forUnknown = await post(server, 'auth/login', { email: unknown, password: 'whatever it may be' }, { from });
    const forWrong = await post(server, 'auth/login', { email: member.email, password: 'whatever it may be' }, { from });
    await settleAuditWrites(server.deps.db);
    assert.equal(forUnknown.status, forWrong.status);
    assert.deepEqual(forUnknown.body, forWrong.body);

    const { rows } = await server.deps.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM resource WHERE resource_type = 'AuditEvent' AND strpos(content::text, $1) > 0`,
      [unknown],
    );
    assert.equal(rows[0]?.n, '0');
    assert.equal((await events(member, `subtype=login-failed&agent=User/${member.userId}`)).length, 1);
  });

  it('records no failure for an account without an active membership', async () => {
    const email = uniqueEmail('lonely');
    const system = new SystemRepository(server.deps);
    const user = await system.create<User>(systemScope(SYSTEM_PROJECT_ID), { resourceType: 'User', firstName: 'No', lastName: 'Project', email, passwordHash: await server.deps.hasher.hash(PASSWORD) });
    assert.equal((await post(server, 'auth/login', { email, password: 'a wrong password here' }, { from: freshAddress() })).status, 400);
    await settleAuditWrites(server.deps.db);
    const { rows } = await server.deps.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM resource WHERE resource_type = 'AuditEvent' AND strpos(content::text, $1) > 0`,
      [`User/${user.id}`],
    );
    assert.equal(rows[0]?.n, '0');
  });
});
