/**
 * Identity rules that span the sign-in endpoints: closed registration, project-scoped users,
 * and revocation seen at once by another server instance on the same database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProjectMembership, User } from '@medplum/fhirtypes';
import { systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { createMember } from './factories.js';
import { pkcePair } from './oauth-fixtures.js';
import { openTestDatabase, startTestServer, type TestServer } from './harness.js';

const PASSWORD = 'a sufficiently long passphrase';

async function postJson(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function exchange(baseUrl: string, code: string, verifier: string): Promise<any> {
  const res = await fetch(`${baseUrl}oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier }).toString(),
  });
  return res.json();
}

describe('REGISTRATION=closed', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { REGISTRATION: 'closed' } });
  });
  after(() => server.close());

  it('refuses self-registration with 403 and creates no user', async () => {
    const email = `closed-${process.pid}-${Date.now()}@example.com`;
    const res = await postJson(server.baseUrl, 'auth/newuser', { firstName: 'No', lastName: 'Entry', email, password: PASSWORD });
    assert.equal(res.status, 403);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    const { rows } = await server.deps.db.query(`SELECT 1 FROM resource WHERE resource_type = 'User' AND lower(content->>'email') = $1`, [email]);
    assert.equal(rows.length, 0);
  });
});

describe('a project-scoped user', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('signs in with its projectId, and is unknown without it', async () => {
    const admin = await createMember(server);
    const scope = systemScope(admin.projectId);
    const system = new SystemRepository(server.deps);
    const email = `scoped-${process.pid}-${Date.now()}@example.com`;
    const user = await system.create<User>(scope, {
      resourceType: 'User',
      firstName: 'Scoped',
      lastName: 'Patient',
      email,
      project: { reference: `Project/${admin.projectId}` },
      passwordHash: await server.deps.hasher.hash(PASSWORD),
    });
    const patient = await system.create(scope, { resourceType: 'Patient', name: [{ family: 'Patient' }] });
    await system.create<ProjectMembership>(scope, {
      resourceType: 'ProjectMembership',
      project: { reference: `Project/${admin.projectId}` },
      user: { reference: `User/${user.id}` },
      profile: { reference: `Patient/${patient.id}` },
    });

    const { verifier, challenge } = pkcePair();
    const login = await postJson(server.baseUrl, 'auth/login', { email, password: PASSWORD, projectId: admin.projectId, codeChallenge: challenge, codeChallengeMethod: 'S256' });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const tokens = await exchange(server.baseUrl, login.body.code, verifier);
    assert.equal(tokens.patient, patient.id, 'a Patient profile is named in the token response');
    assert.equal(tokens.project.reference, `Project/${admin.projectId}`);

    const withoutProject = await postJson(server.baseUrl, 'auth/login', { email, password: PASSWORD });
    assert.equal(withoutProject.status, 400);
  });
});

describe('two server instances on one database', () => {
  it('a sign-out on one instance ends the token on the other at once', async () => {
    const db = await openTestDatabase();
    const a = await startTestServer({ db });
    // Instances behind one load balancer share BASE_URL (the token issuer); B listens elsewhere.
    const b = await startTestServer({ db, env: { BASE_URL: a.baseUrl } });
    const address = b.app.server.address();
    const bBase = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    try {
      const email = `two-${process.pid}-${Date.now()}@example.com`;
      const user = await postJson(a.baseUrl, 'auth/newuser', { firstName: 'Two', lastName: 'Instances', email, password: PASSWORD });
      const { verifier, challenge } = pkcePair();
      await postJson(a.baseUrl, 'auth/newproject', { login: user.body.login, projectName: 'Shared' });
      const login = await postJson(a.baseUrl, 'auth/login', { email, password: PASSWORD, codeChallenge: challenge, codeChallengeMethod: 'S256' });
      const tokens = await exchange(a.baseUrl, login.body.code, verifier);
      // Both instances sign with the keys in the shared database, so B accepts A's token.
      const onB = await fetch(`${bBase}fhir/R4/Patient/_history`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(onB.status, 200);
      const out = await postJson(bBase, 'oauth2/logout', {}, { authorization: `Bearer ${tokens.access_token}` });
      assert.equal(out.status, 200);
      const onA = await fetch(`${a.fhirUrl}Patient/_history`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(onA.status, 401);
    } finally {
      await a.app.close();
      await b.app.close();
      await db.close();
    }
  });
});
