/**
 * Security properties of the code and refresh grants: single-use codes (a replay revokes the
 * login), PKCE S256 only, refresh rotation with reuse detection, token types kept apart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pkcePair } from './oauth-fixtures.js';
import { startTestServer, type TestServer } from './harness.js';

const PASSWORD = 'a long and unusual passphrase';
let n = 0;

async function postJson(server: TestServer, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function token(server: TestServer, params: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.baseUrl}oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, body: await res.json() };
}

/** A registered user with one project; returns a function that signs in and returns a code. */
async function account(server: TestServer): Promise<{ email: string; signIn: (extra?: Record<string, unknown>) => Promise<{ code: string; verifier: string }> }> {
  const email = `sec-${process.pid}-${++n}@example.com`;
  const { body: user } = await postJson(server, 'auth/newuser', { firstName: 'Sec', lastName: 'Test', email, password: PASSWORD });
  const made = await postJson(server, 'auth/newproject', { login: user.login, projectName: `Security ${n}` });
  assert.equal(made.status, 200, JSON.stringify(made.body));
  return {
    email,
    async signIn(extra = {}) {
      const { verifier, challenge } = pkcePair();
      const res = await postJson(server, 'auth/login', { email, password: PASSWORD, codeChallenge: challenge, codeChallengeMethod: 'S256', ...extra });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return { code: res.body.code, verifier };
    },
  };
}

async function fhirStatus(server: TestServer, accessToken: string): Promise<number> {
  const res = await fetch(`${server.fhirUrl}Patient/_history`, { headers: { authorization: `Bearer ${accessToken}` } });
  return res.status;
}

describe('authorization code grant', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('exchanges a code once; a replay is refused and revokes the tokens already issued', async () => {
    const { code, verifier } = await (await account(server)).signIn();
    const first = await token(server, { grant_type: 'authorization_code', code, code_verifier: verifier });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.token_type, 'Bearer');
    assert.ok(first.body.id_token && first.body.access_token);
    assert.match(first.body.profile.reference, /^Practitioner\//);
    assert.equal(await fhirStatus(server, first.body.access_token), 200);

    const replay = await token(server, { grant_type: 'authorization_code', code, code_verifier: verifier });
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
    assert.equal(await fhirStatus(server, first.body.access_token), 401);
  });

  it('requires the PKCE verifier that matches the S256 challenge', async () => {
    const acct = await account(server);
    const { code } = await acct.signIn();
    const missing = await token(server, { grant_type: 'authorization_code', code });
    assert.equal(missing.body.error, 'invalid_grant');
    const wrong = await token(server, { grant_type: 'authorization_code', code, code_verifier: pkcePair().verifier });
    assert.equal(wrong.body.error, 'invalid_grant');
  });

  it('refuses the plain PKCE method at sign-in', async () => {
    const acct = await account(server);
    const res = await postJson(server, 'auth/login', { email: acct.email, password: PASSWORD, codeChallenge: 'a'.repeat(43), codeChallengeMethod: 'plain' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.issue[0].expression, ['codeChallengeMethod']);
  });

  it('refuses to exchange a code without PKCE for a client that proves nothing', async () => {
    const acct = await account(server);
    const res = await postJson(server, 'auth/login', { email: acct.email, password: PASSWORD });
    const exchanged = await token(server, { grant_type: 'authorization_code', code: res.body.code });
    assert.equal(exchanged.status, 400);
    assert.equal(exchanged.body.error, 'invalid_grant');
  });

  it('lets a code expire after ten minutes', async () => {
    const { code, verifier } = await (await account(server)).signIn();
    server.clock.advance(11 * 60 * 1000);
    const res = await token(server, { grant_type: 'authorization_code', code, code_verifier: verifier });
    assert.equal(res.body.error, 'invalid_grant');
  });

  it('answers RFC 6749 errors for malformed token requests', async () => {
    const json = await fetch(`${server.baseUrl}oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"authorization_code"}' });
    assert.equal(json.status, 400);
    assert.equal(((await json.json()) as { error: string }).error, 'invalid_request');
    assert.equal((await token(server, {})).body.error, 'invalid_request');
    assert.equal((await token(server, { grant_type: 'password' })).body.error, 'unsupported_grant_type');
    const repeated = await fetch(`${server.baseUrl}oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=authorization_code&code=a&code=b',
    });
    assert.equal(((await repeated.json()) as { error: string }).error, 'invalid_request');
    assert.equal((await token(server, { grant_type: 'authorization_code', code: 'garbage' })).body.error, 'invalid_grant');
  });
});

describe('refresh token grant', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('rotates the refresh token, and reuse of an old one revokes the whole login', async () => {
    const { code, verifier } = await (await account(server)).signIn({ scope: 'openid offline' });
    const first = (await token(server, { grant_type: 'authorization_code', code, code_verifier: verifier })).body;
    assert.ok(first.refresh_token, 'offline scope gives a refresh token');

    const second = await token(server, { grant_type: 'refresh_token', refresh_token: first.refresh_token });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.notEqual(second.body.refresh_token, first.refresh_token);
    assert.equal(await fhirStatus(server, second.body.access_token), 200);

    const reuse = await token(server, { grant_type: 'refresh_token', refresh_token: first.refresh_token });
    assert.equal(reuse.body.error, 'invalid_grant');
    assert.equal(await fhirStatus(server, second.body.access_token), 401);
    const newest = await token(server, { grant_type: 'refresh_token', refresh_token: second.body.refresh_token });
    assert.equal(newest.body.error, 'invalid_grant');
  });

  it('gives no refresh token without offline scope', async () => {
    const { code, verifier } = await (await account(server)).signIn();
    const res = (await token(server, { grant_type: 'authorization_code', code, code_verifier: verifier })).body;
    assert.equal(res.refresh_token, undefined);
  });

  it('keeps token types apart: refresh and id tokens are not access tokens, and the reverse', async () => {
    const { code, verifier } = await (await account(server)).signIn({ scope: 'openid offline' });
    const tokens = (await token(server, { grant_type: 'authorization_code', code, code_verifier: verifier })).body;
    assert.equal(await fhirStatus(server, tokens.refresh_token), 401);
    assert.equal(await fhirStatus(server, tokens.id_token), 401);
    assert.equal((await token(server, { grant_type: 'refresh_token', refresh_token: tokens.access_token })).body.error, 'invalid_grant');
    assert.equal((await token(server, { grant_type: 'refresh_token', refresh_token: tokens.id_token })).body.error, 'invalid_grant');
  });
});
