/**
 * `AccessPolicy.ipAccessRule[]` at sign-in: once the Login's membership is known (the only one
 * at `/auth/login`, the chosen one at `/auth/profile`, after the TOTP step, on the
 * `/oauth2/authorize` page and at `/auth/login` with `redirectUri`), a blocked address gets
 * Medplum's 400 OperationOutcome `IP address not allowed` and the Login gets no membership and
 * no code, so nothing from it can be exchanged; the refusal is in the project's audit log. The
 * exchange and later requests are checked by policy-ip-rules.test.ts. Requests come from chosen
 * loopback addresses (auth-client.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccessPolicy, Login, ProjectMembership } from '@medplum/fhirtypes';
import { decodeJwt } from 'jose';
import { totpCode } from '../src/auth/mfa-totp.js';
import { systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { call, createAccount, freshAddress, login, post, type JsonResponse } from './auth-client.js';
import { startTestServer, type TestServer } from './harness.js';
import { authorizeUrl, membershipInNewProject, memberWithPassword, PASSWORD, pkcePair, REDIRECT_URI, registerClient, ScriptedBrowser } from './oauth-fixtures.js';

const IP_NOT_ALLOWED = 'IP address not allowed';

function assertRefused(res: JsonResponse, what: string): void {
  assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.resourceType, 'OperationOutcome', what);
  assert.equal(res.body.issue[0].details.text, IP_NOT_ALLOWED, what);
  assert.equal(res.body.code, undefined, what);
}

describe('IP access rules at sign-in', () => {
  let server: TestServer;
  let system: SystemRepository;
  /** The one address the policy allows before its `*` block; every other one (127.0.0.1 too) is blocked. */
  const office = freshAddress();

  before(async () => {
    server = await startTestServer();
    system = new SystemRepository(server.deps);
  });
  after(() => server.close());

  /** An office-only policy in the project, set on the membership. */
  async function restrictToOffice(projectId: string, membershipId: string): Promise<void> {
    const scope = systemScope(projectId);
    const policy = await system.create<AccessPolicy>(scope, {
      resourceType: 'AccessPolicy',
      name: 'Office only',
      resource: [{ resourceType: '*' }],
      ipAccessRule: [
        { name: 'office', value: office, action: 'allow' },
        { name: 'everyone else', value: '*', action: 'block' },
      ],
    });
    const membership = await system.read<ProjectMembership>(scope, 'ProjectMembership', membershipId);
    assert.ok(membership);
    await system.update<ProjectMembership>(scope, { ...membership, accessPolicy: { reference: `AccessPolicy/${policy.id}` } });
  }

  /** A member whose only membership is office-only. */
  async function officeOnlyMember() {
    const member = await memberWithPassword(server);
    await restrictToOffice(member.projectId, member.membershipId);
    return member;
  }

  /** The user's Logins started from `from`, as stored. */
  async function loginsFrom(userId: string, from: string): Promise<Array<Login & { id: string }>> {
    const { rows } = await server.deps.db.query<{ content: Login & { id: string } }>(
      `SELECT content FROM resource WHERE resource_type = 'Login' AND NOT deleted AND content->'user'->>'reference' = $1 AND content->>'remoteAddress' = $2`,
      [`User/${userId}`, from],
    );
    return rows.map((r) => r.content);
  }

  const exchange = (code: string, verifier: string, from: string) => post(server, 'oauth2/token', { grant_type: 'authorization_code', code, code_verifier: verifier }, { form: true, from });

  it('refuses /auth/login from a blocked address (single membership), leaving a Login with no membership or code', async () => {
    const member = await officeOnlyMember();
    const elsewhere = freshAddress();
    assertRefused(await login(server, member.email, PASSWORD, { from: elsewhere }), 'login');
    const [stored, ...more] = await loginsFrom(member.userId, elsewhere);
    assert.ok(stored);
    assert.equal(more.length, 0);
    assert.equal(stored.membership, undefined);
    assert.equal(stored.code, undefined);
    assert.equal(stored.granted, false);
    // The refusal is in the project's audit log, with the address it came from.
    const { rows: audit } = await server.deps.db.query<{ content: { outcome: string; outcomeDesc: string; agent: Array<{ network?: { address?: string } }>; entity?: Array<{ what?: { reference?: string } }> } }>(
      `SELECT content FROM resource WHERE project_id = $1 AND resource_type = 'AuditEvent' AND content->>'outcomeDesc' = $2`,
      [member.projectId, `Sign-in refused: ${IP_NOT_ALLOWED}`],
    );
    assert.equal(audit.length, 1, 'one AuditEvent for the refused sign-in');
    assert.equal(audit[0]?.content.outcome, '4');
    assert.equal(audit[0]?.content.agent[0]?.network?.address, elsewhere);
    assert.ok(audit[0]?.content.entity?.some((e) => e.what?.reference === `ProjectMembership/${member.membershipId}`));
    // Finishing that Login from the office does not help: it was started from a blocked address.
    assertRefused(await post(server, 'auth/profile', { login: stored.id, profile: member.membershipId }, { from: office }), 'profile from the office');
    assert.equal((await loginsFrom(member.userId, elsewhere))[0]?.code, undefined);
  });

  it('signs in from an allowed address, and the code is exchanged there', async () => {
    const member = await officeOnlyMember();
    const signIn = await login(server, member.email, PASSWORD, { from: office });
    assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
    assert.ok(signIn.body.code);
    const tokens = await exchange(signIn.body.code, signIn.verifier, office);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal((await call(server, 'GET', 'auth/me', undefined, { token: tokens.body.access_token, from: office })).status, 200);
  });

  it('at the profile choice, refuses the blocked membership; the open one still works from the same address', async () => {
    const member = await memberWithPassword(server);
    // A second project where the same user's membership is office-only.
    const { projectId, membership: restricted } = await membershipInNewProject(server, member.userId, 'Office-only project');
    await restrictToOffice(projectId, restricted.id);

    const elsewhere = freshAddress();
    const started = await login(server, member.email, PASSWORD, { from: elsewhere });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.equal(started.body.memberships.length, 2);
    assertRefused(await post(server, 'auth/profile', { login: started.body.login, profile: restricted.id }, { from: elsewhere }), 'blocked membership');
    assert.equal((await loginsFrom(member.userId, elsewhere))[0]?.code, undefined);

    const chosen = await post(server, 'auth/profile', { login: started.body.login, profile: member.membershipId }, { from: elsewhere });
    assert.equal(chosen.status, 200, JSON.stringify(chosen.body));
    const tokens = await exchange(chosen.body.code, started.verifier, elsewhere);
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal(decodeJwt(tokens.body.access_token).membership_id, member.membershipId);
  });

  it('refuses the TOTP step that would finish a sign-in started from a blocked address', async () => {
    const account = await createAccount(server);
    const status = await call(server, 'GET', 'auth/mfa/status', undefined, { token: account.accessToken });
    const secret = new URL(status.body.enrollUri).searchParams.get('secret') as string;
    const enrolled = await post(server, 'auth/mfa/enroll', { token: totpCode(secret, server.clock.now()) }, { token: account.accessToken });
    assert.equal(enrolled.status, 200, JSON.stringify(enrolled.body));
    // The next step's code, so it is not refused as already used.
    server.clock.advance(30_000);
    const claims = decodeJwt(account.accessToken) as { project_id: string; membership_id: string };
    await restrictToOffice(claims.project_id, claims.membership_id);

    const started = await login(server, account.email, account.password, { from: freshAddress() });
    assert.deepEqual(started.body, { login: started.body.login, mfaRequired: true });
    assertRefused(await post(server, 'auth/mfa/verify', { login: started.body.login, token: totpCode(secret, server.clock.now()) }), 'TOTP step');
  });

  it('refuses on the /oauth2/authorize sign-in page and at /auth/login with redirectUri: no code reaches the client', async () => {
    const member = await memberWithPassword(server);
    const client = await registerClient(server, member);
    await restrictToOffice(member.projectId, member.membershipId);
    const { challenge } = pkcePair();

    // The scripted browser sends from 127.0.0.1, which the policy blocks.
    const page = await new ScriptedBrowser(server).signIn(authorizeUrl(server, { client_id: client.id, code_challenge: challenge, code_challenge_method: 'S256' }), member.email);
    assert.equal(page.status, 400, page.html.slice(0, 300));
    assert.equal(page.location, undefined);
    assert.match(page.html, new RegExp(IP_NOT_ALLOWED));

    const body = { email: member.email, password: PASSWORD, clientId: client.id, redirectUri: REDIRECT_URI, codeChallenge: challenge, codeChallengeMethod: 'S256' };
    assertRefused(await post(server, 'auth/login', body, { from: freshAddress() }), '/auth/login with redirectUri');
    const allowed = await post(server, 'auth/login', body, { from: office });
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.ok(allowed.body.code);
  });
});
