/**
 * A User edits only itself: its names through PATCH /auth/me, its password through
 * /auth/changepassword; nothing else of it, and never another account.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pkcePair } from './oauth-fixtures.js';
import { startTestServer, type TestServer } from './harness.js';

const PASSWORD = 'my own long passphrase';
let n = 0;

async function call(server: TestServer, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: await res.json() };
}

/** Registers a user with a project and returns an access token. */
async function signUp(server: TestServer): Promise<{ token: string; email: string }> {
  const email = `self-${process.pid}-${++n}@example.com`;
  const user = await call(server, 'POST', 'auth/newuser', { firstName: 'Ada', lastName: 'Byron', email, password: PASSWORD });
  const { verifier, challenge } = pkcePair();
  await call(server, 'POST', 'auth/newproject', { login: user.body.login, projectName: `Self ${n}` });
  const login = await call(server, 'POST', 'auth/login', { email, password: PASSWORD, codeChallenge: challenge, codeChallengeMethod: 'S256' });
  const res = await fetch(`${server.baseUrl}oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: login.body.code, code_verifier: verifier }).toString(),
  });
  return { token: ((await res.json()) as { access_token: string }).access_token, email };
}

describe('a User edits only itself', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('changes its own names through PATCH /auth/me, and nothing of anyone else', async () => {
    const me = await signUp(server);
    const other = await signUp(server);
    const res = await call(server, 'PATCH', 'auth/me', { firstName: 'Augusta', lastName: 'King' }, me.token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.user.firstName, 'Augusta');
    assert.equal(res.body.user.lastName, 'King');
    assert.equal(res.body.user.email, me.email);
    assert.equal(JSON.stringify(res.body).includes('passwordHash'), false);
    const theirs = await call(server, 'GET', 'auth/me', undefined, other.token);
    assert.equal(theirs.body.user.firstName, 'Ada');
    // The password still works: the edit kept the stored hash.
    const again = await call(server, 'POST', 'auth/login', { email: me.email, password: PASSWORD });
    assert.equal(again.status, 200);
  });

  it('refuses other fields, empty names and anonymous callers, and changes nothing', async () => {
    const me = await signUp(server);
    for (const body of [{ email: 'new@example.com' }, { firstName: 'X', passwordHash: 'x' }, { firstName: '' }, {}, { admin: true }]) {
      const res = await call(server, 'PATCH', 'auth/me', body, me.token);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.resourceType, 'OperationOutcome');
    }
    assert.equal((await call(server, 'PATCH', 'auth/me', { firstName: 'X' })).status, 401);
    const unchanged = await call(server, 'GET', 'auth/me', undefined, me.token);
    assert.equal(unchanged.body.user.firstName, 'Ada');
    assert.equal(unchanged.body.user.email, me.email);
  });

  it('cannot write its User through the FHIR API, even as the project admin', async () => {
    const me = await signUp(server);
    const mine = await call(server, 'GET', 'auth/me', undefined, me.token);
    const res = await fetch(`${server.fhirUrl}User/${mine.body.user.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${me.token}` },
      body: JSON.stringify({ resourceType: 'User', id: mine.body.user.id, firstName: 'Evil', lastName: 'Twin', email: 'evil@example.com' }),
    });
    assert.equal(res.status, 403);
  });
});
