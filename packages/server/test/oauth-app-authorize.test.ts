/**
 * `/oauth2/authorize` with the web app served: a browser's request is checked and sent to the
 * app's `/oauth` page, which learns the client's name from `/oauth2/client-info` and signs in
 * through `/auth/login` with `redirectUri`. Without a build (and for authorize-post) the
 * server-rendered page still answers. `/auth/login` checks the authorization request again,
 * so a request that skips the page cannot get a code for a redirect URI the client did not
 * register, nor without PKCE, nor for another project.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ProjectMembership } from '@medplum/fhirtypes';
import { SYSTEM_PROJECT_ID, systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import type { TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { authorizeUrl, confidentialSecret, memberWithPassword, PASSWORD, pkcePair, REDIRECT_URI, registerClient, tokenRequest, type RegisteredClient, startServerWithAppBuild, type ServerWithAppBuild } from './oauth-fixtures.js';

const HTML = { accept: 'text/html,application/xhtml+xml' };

let app: ServerWithAppBuild;
let folder: string;
let server: TestServer;
let member: TestMember;
let client: RegisteredClient;

before(async () => {
  app = await startServerWithAppBuild('oauth-app');
  server = app.server;
  folder = app.folder;
  member = await memberWithPassword(server);
  client = await registerClient(server, member, { name: 'Chart Viewer' });
});
after(() => app.close());

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { redirect: 'manual', headers });

async function login(body: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const res = await fetch(new URL('auth/login', server.baseUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** What the `/oauth` page sends to `/auth/login` for this client, with a fresh PKCE pair. */
function pageLogin(overrides: Record<string, unknown> = {}): { body: Record<string, unknown>; verifier: string } {
  const { verifier, challenge } = pkcePair();
  const body = { email: member.email, password: PASSWORD, clientId: client.id, redirectUri: REDIRECT_URI, scope: 'openid profile', codeChallenge: challenge, codeChallengeMethod: 'S256', ...overrides };
  return { body, verifier };
}

async function loginsOf(userId: string): Promise<number> {
  const { rows } = await server.deps.db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM resource WHERE project_id = $1 AND resource_type = 'Login' AND content->'user'->>'reference' = $2`,
    [SYSTEM_PROJECT_ID, `User/${userId}`],
  );
  return Number(rows[0]?.n);
}

describe('a browser at /oauth2/authorize with the web app served', () => {
  it('is sent to the app\'s /oauth page with the checked parameters', async () => {
    const { challenge } = pkcePair();
    const res = await get(authorizeUrl(server, { client_id: client.id, scope: 'openid  profile', nonce: 'n-1', code_challenge: challenge, code_challenge_method: 'S256', ignored: 'x' }), HTML);
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get('location') as string);
    assert.equal(`${location.origin}${location.pathname}`, `${server.baseUrl}oauth`);
    assert.deepEqual(Object.fromEntries(location.searchParams), {
      client_id: client.id,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: 'openid  profile',
      state: 'st-1',
      nonce: 'n-1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    // The page itself is the app's index.html.
    const page = await get(location.toString(), HTML);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Tessera test build/);
  });

  it('still shows errors about the client or redirect_uri on the server\'s page and redirects the others as before', async () => {
    const wrongUri = await get(authorizeUrl(server, { client_id: client.id, redirect_uri: 'https://evil.example/cb', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' }), HTML);
    assert.equal(wrongUri.status, 400);
    assert.equal(wrongUri.headers.get('location'), null);
    assert.match(await wrongUri.text(), /Incorrect redirect_uri/);
    const plain = await get(authorizeUrl(server, { client_id: client.id, code_challenge: pkcePair().challenge, code_challenge_method: 'plain' }), HTML);
    assert.equal(plain.status, 302);
    const back = new URL(plain.headers.get('location') as string);
    assert.equal(`${back.origin}${back.pathname}`, REDIRECT_URI);
    assert.equal(back.searchParams.get('error'), 'invalid_request');
    assert.equal(back.searchParams.get('state'), 'st-1');
  });

  it('keeps the server-rendered page for authorize-post and for a client that does not ask for HTML', async () => {
    const request = Object.fromEntries(new URL(authorizeUrl(server, { client_id: client.id, code_challenge: pkcePair().challenge, code_challenge_method: 'S256' })).searchParams);
    const posted = await fetch(new URL('oauth2/authorize', server.baseUrl), {
      method: 'POST',
      redirect: 'manual',
      headers: { ...HTML, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(request).toString(),
    });
    assert.equal(posted.status, 200);
    assert.match(await posted.text(), /Sign in to Chart Viewer/);
    const script = await get(authorizeUrl(server, { client_id: client.id, code_challenge: pkcePair().challenge, code_challenge_method: 'S256' }));
    assert.equal(script.status, 200);
    assert.match(await script.text(), /Sign in to Chart Viewer/);
  });
});

describe('without a web app build', () => {
  it('answers a browser with the server-rendered sign-in page', async () => {
    const bare = await startTestServer({ webAppDir: join(folder, 'not-built') });
    try {
      const admin = await memberWithPassword(bare);
      const app = await registerClient(bare, admin, { name: 'Bare App' });
      const res = await get(authorizeUrl(bare, { client_id: app.id, code_challenge: pkcePair().challenge, code_challenge_method: 'S256' }), HTML);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /Sign in to Bare App/);
    } finally {
      await bare.close();
    }
  });
});

describe('/oauth2/client-info', () => {
  const info = (params: Record<string, string | undefined>) => get(authorizeUrl(server, params).replace('/oauth2/authorize?', '/oauth2/client-info?'));

  it('answers the client\'s name, the checked scope, the redirect URI and the issuer, and nothing else', async () => {
    const res = await info({ client_id: client.id, scope: 'openid openid profile', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await res.json(), { client_id: client.id, client_name: 'Chart Viewer', redirect_uri: REDIRECT_URI, scope: 'openid profile', issuer: server.baseUrl });
  });

  it('names no client for a redirect URI it did not register, an unknown client, or a request the endpoint refuses', async () => {
    const wrongUri = await info({ client_id: client.id, redirect_uri: 'https://evil.example/cb', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
    assert.equal(wrongUri.status, 400);
    const body: any = await wrongUri.json();
    assert.equal(body.error, 'invalid_request');
    assert.match(body.error_description, /Incorrect redirect_uri/);
    assert.doesNotMatch(JSON.stringify(body), /Chart Viewer/);
    assert.equal((await info({ client_id: 'no-such-client' })).status, 400);
    const noPkce = await info({ client_id: client.id });
    assert.equal(noPkce.status, 400);
    assert.match(((await noPkce.json()) as any).error_description, /PKCE is required/);
  });
});

describe('/auth/login with redirectUri (the /oauth page\'s sign-in)', () => {
  it('issues a code bound to the client and its redirect URI, which the token endpoint honours', async () => {
    const { body, verifier } = pageLogin({ nonce: 'n-2' });
    const res = await login(body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(res.body.code);
    const base = { grant_type: 'authorization_code', code: res.body.code, code_verifier: verifier, client_id: client.id };
    assert.equal((await tokenRequest(server, { ...base, redirect_uri: 'http://127.0.0.1:9/other' })).body.error, 'invalid_grant');
    const tokens = await tokenRequest(server, { ...base, redirect_uri: REDIRECT_URI });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal(tokens.body.scope, 'openid profile');
    const claims = JSON.parse(Buffer.from(String(tokens.body.id_token).split('.')[1] ?? '', 'base64url').toString());
    assert.equal(claims.aud, client.id);
    assert.equal(claims.nonce, 'n-2');
  });

  it('refuses a redirect URI the client did not register, even when the request skips the page, and writes no Login', async () => {
    const before = await loginsOf(member.userId);
    for (const redirectUri of ['https://evil.example/cb', `${REDIRECT_URI}/`, REDIRECT_URI.toUpperCase()]) {
      const res = await login(pageLogin({ redirectUri }).body);
      assert.equal(res.status, 400, redirectUri);
      assert.equal(res.body.resourceType, 'OperationOutcome');
      assert.deepEqual(res.body.issue[0].expression, ['redirectUri']);
      assert.match(res.body.issue[0].details.text, /Incorrect redirect_uri/);
    }
    assert.equal(await loginsOf(member.userId), before);
  });

  it('checks the rest of the request as /oauth2/authorize does: client, PKCE, scope, project', async () => {
    const before = await loginsOf(member.userId);
    const inactive = await registerClient(server, member, { status: 'off' });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ clientId: undefined }, 'clientId'],
      [{ clientId: inactive.id }, 'clientId'],
      [{ codeChallenge: undefined, codeChallengeMethod: undefined }, 'codeChallenge'],
      [{ codeChallengeMethod: 'plain' }, 'codeChallengeMethod'],
      [{ scope: 'openid user/NoSuchType.read' }, 'scope'],
      [{ projectId: (await memberWithPassword(server)).projectId }, 'projectId'],
    ];
    for (const [overrides, field] of cases) {
      const res = await login(pageLogin(overrides).body);
      assert.equal(res.status, 400, `${field}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(res.body.issue[0].expression, [field]);
    }
    assert.equal(await loginsOf(member.userId), before);
  });

  it('lets a confidential pkceOptional client sign in without PKCE, and then requires its secret', async () => {
    const secret = confidentialSecret();
    const confidential = await registerClient(server, member, { secret, pkceOptional: true });
    const res = await login(pageLogin({ clientId: confidential.id, codeChallenge: undefined, codeChallengeMethod: undefined }).body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const base = { grant_type: 'authorization_code', code: res.body.code, redirect_uri: REDIRECT_URI, client_id: confidential.id };
    assert.equal((await tokenRequest(server, base)).status, 401);
    assert.equal((await tokenRequest(server, { ...base, client_secret: secret })).status, 200);
  });

  it('offers only memberships of the client\'s project, as the server-rendered page does', async () => {
    const elsewhere = await memberWithPassword(server);
    await new SystemRepository(server.deps).create<ProjectMembership>(systemScope(elsewhere.projectId), {
      resourceType: 'ProjectMembership',
      project: { reference: `Project/${elsewhere.projectId}` },
      user: { reference: `User/${member.userId}` },
      profile: { reference: elsewhere.profile },
      active: true,
    });
    const { body, verifier } = pageLogin();
    const res = await login(body);
    assert.ok(res.body.code, 'one membership in the client\'s project: a code, no choice');
    const tokens = await tokenRequest(server, { grant_type: 'authorization_code', code: res.body.code, code_verifier: verifier, client_id: client.id, redirect_uri: REDIRECT_URI });
    assert.deepEqual(tokens.body.project, { reference: `Project/${member.projectId}` });
    const outsider = await login({ ...body, email: elsewhere.email });
    assert.equal(outsider.status, 403);
  });
});
