/**
 * Security properties of `/oauth2/authorize` and the codes it issues: redirect URIs match
 * exactly or nothing is redirected; PKCE S256 is required of public clients and cannot be
 * downgraded; the sign-in form refuses forged, cross-site and cookie-less posts; a code works
 * only for its client and its redirect URI.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProjectMembership } from '@medplum/fhirtypes';
import { systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { startTestServer, type TestServer } from './harness.js';
import {
  authorizeUrl,
  basic,
  confidentialSecret,
  formToken,
  memberWithPassword,
  pkcePair,
  REDIRECT_URI,
  redirectParams,
  registerClient,
  ScriptedBrowser,
  tokenRequest,
  type RegisteredClient,
} from './oauth-fixtures.js';
import type { TestMember } from './factories.js';

let server: TestServer;
let member: TestMember;
let publicClient: RegisteredClient;

before(async () => {
  server = await startTestServer();
  member = await memberWithPassword(server);
  publicClient = await registerClient(server, member, { redirectUris: [REDIRECT_URI, 'https://app.example/cb'] });
});
after(() => server.close());

/** Asserts a plain error page: 4xx HTML, no Location, nothing sent anywhere. */
function assertErrorPage(page: { status: number; html: string; headers: Headers; location?: string }, status = 400): void {
  assert.equal(page.status, status, page.html.slice(0, 300));
  assert.equal(page.location, undefined, 'an error page never redirects');
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
}

describe('redirect_uri', () => {
  const tricks = [
    ['a longer path', `${REDIRECT_URI}/evil`],
    ['a prefix of the path', `${REDIRECT_URI}x`],
    ['another port', 'http://127.0.0.1:10/callback'],
    ['another path', 'http://127.0.0.1:9/other'],
    ['another case in the path', 'http://127.0.0.1:9/Callback'],
    ['another case in the scheme and host', 'HTTPS://APP.EXAMPLE/cb'],
    ['an extra query', `${REDIRECT_URI}?next=https://evil.example`],
    ['a fragment', `${REDIRECT_URI}#frag`],
    ['a trailing slash', 'https://app.example/cb/'],
    ['a host with the registered one as prefix', 'https://app.example.evil.example/cb'],
    ['userinfo before another host', 'https://app.example@evil.example/cb'],
    ['an encoded variant', 'https://app.example/%63b'],
  ];
  for (const [name, uri] of tricks) {
    it(`shows an error page and never redirects for ${name}`, async () => {
      const { challenge } = pkcePair();
      const page = await new ScriptedBrowser(server).get(
        authorizeUrl(server, { client_id: publicClient.id, redirect_uri: uri, code_challenge: challenge, code_challenge_method: 'S256' }),
      );
      assertErrorPage(page);
      assert.match(page.html, /Incorrect redirect_uri/);
    });
  }

  it('shows an error page for a missing redirect_uri, an unknown client and an inactive one', async () => {
    const browser = new ScriptedBrowser(server);
    assertErrorPage(await browser.get(authorizeUrl(server, { client_id: publicClient.id, redirect_uri: undefined })));
    assertErrorPage(await browser.get(authorizeUrl(server, { client_id: '00000000-0000-4000-8000-000000000000' })));
    assertErrorPage(await browser.get(authorizeUrl(server, { client_id: undefined })));
    const off = await registerClient(server, member, { status: 'off' });
    assertErrorPage(await browser.get(authorizeUrl(server, { client_id: off.id, code_challenge: pkcePair().challenge, code_challenge_method: 'S256' })));
  });

  it('sends other errors back to the registered redirect_uri with error, state and iss', async () => {
    const page = await new ScriptedBrowser(server).get(authorizeUrl(server, { client_id: publicClient.id, response_type: 'token', state: 'xyz' }));
    assert.equal(page.status, 302);
    const params = redirectParams(page);
    assert.ok(page.location?.startsWith(`${REDIRECT_URI}?`));
    assert.equal(params.get('error'), 'unsupported_response_type');
    assert.equal(params.get('state'), 'xyz');
    assert.equal(params.get('iss'), server.baseUrl);
    assert.equal(params.get('code'), null);
  });

  it('answers prompt=none with login_required and an unknown scope with invalid_scope', async () => {
    const pkce = { code_challenge: pkcePair().challenge, code_challenge_method: 'S256' };
    const browser = new ScriptedBrowser(server);
    const none = await browser.get(authorizeUrl(server, { client_id: publicClient.id, prompt: 'none', ...pkce }));
    assert.equal(redirectParams(none).get('error'), 'login_required');
    for (const scope of ['openid admin', 'openid user/Observation.dus', 'openid patient/NotAType.rs', 'openid patient/Observation.rs?category=x']) {
      const res = await browser.get(authorizeUrl(server, { client_id: publicClient.id, scope, ...pkce }));
      assert.equal(redirectParams(res).get('error'), 'invalid_scope', scope);
    }
  });
});

describe('PKCE at the authorize endpoint', () => {
  const expectInvalid = async (client: RegisteredClient, params: Record<string, string | undefined>): Promise<void> => {
    const page = await new ScriptedBrowser(server).get(authorizeUrl(server, { client_id: client.id, ...params }));
    assert.equal(page.status, 302, page.html.slice(0, 200));
    assert.equal(redirectParams(page).get('error'), 'invalid_request');
  };

  it('refuses plain, a challenge without a method, and a malformed challenge', async () => {
    const { challenge } = pkcePair();
    await expectInvalid(publicClient, { code_challenge: challenge, code_challenge_method: 'plain' });
    await expectInvalid(publicClient, { code_challenge: challenge });
    await expectInvalid(publicClient, { code_challenge: 'short', code_challenge_method: 'S256' });
    await expectInvalid(publicClient, { code_challenge_method: 'S256' });
  });

  it('requires a challenge of public clients and of confidential ones unless pkceOptional', async () => {
    await expectInvalid(publicClient, {});
    await expectInvalid(await registerClient(server, member, { secret: confidentialSecret() }), {});
    const publicOptional = await registerClient(server, member, { pkceOptional: true });
    await expectInvalid(publicOptional, {});
    const optional = await registerClient(server, member, { secret: confidentialSecret(), pkceOptional: true });
    const page = await new ScriptedBrowser(server).get(authorizeUrl(server, { client_id: optional.id }));
    assert.equal(page.status, 200);
  });

  it('does not let a confidential client drop the verifier of a code issued with a challenge', async () => {
    const secret = confidentialSecret();
    const client = await registerClient(server, member, { secret, pkceOptional: true });
    const { challenge } = pkcePair();
    const landed = await new ScriptedBrowser(server).signIn(authorizeUrl(server, { client_id: client.id, code_challenge: challenge, code_challenge_method: 'S256' }), member.email);
    const code = redirectParams(landed).get('code') as string;
    const res = await tokenRequest(server, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }, basic(client.id, secret));
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_grant');
  });
});

describe('CSRF on the sign-in form', () => {
  const openPage = async (browser: ScriptedBrowser): Promise<string> => {
    const { challenge } = pkcePair();
    const page = await browser.get(authorizeUrl(server, { client_id: publicClient.id, code_challenge: challenge, code_challenge_method: 'S256' }));
    assert.equal(page.status, 200);
    return formToken(page.html);
  };
  const credentials = (): Record<string, string> => ({ _form: 'sign-in', email: member.email, password: 'a long and unusual passphrase' });

  it('serves the page with a strict CSP, no script, and an HttpOnly SameSite cookie', async () => {
    const browser = new ScriptedBrowser(server);
    const page = await browser.get(authorizeUrl(server, { client_id: publicClient.id, code_challenge: pkcePair().challenge, code_challenge_method: 'S256' }));
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /form-action 'self' http:\/\/127\.0\.0\.1:9(;|$)/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('referrer-policy'), 'same-origin');
    assert.doesNotMatch(page.html, /<script/i);
    const cookie = page.headers.getSetCookie()[0] ?? '';
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
  });

  it('refuses a post without a form token, with a forged one, or without the cookie', async () => {
    const browser = new ScriptedBrowser(server);
    const token = await openPage(browser);
    assertErrorPage(await browser.post(credentials()), 403);
    assertErrorPage(await browser.post({ ...credentials(), csrf_token: `${token.slice(0, -4)}AAAA` }), 403);
    assertErrorPage(await browser.post({ ...credentials(), csrf_token: token }, { cookie: '' }), 403);
    // And the real form still works in the browser it was made for.
    const ok = await browser.post({ ...credentials(), csrf_token: token });
    assert.equal(ok.status, 303);
  });

  it('refuses a form token taken from another browser', async () => {
    const attacker = new ScriptedBrowser(server);
    const token = await openPage(attacker);
    const victim = new ScriptedBrowser(server);
    await openPage(victim);
    assertErrorPage(await victim.post({ ...credentials(), csrf_token: token }), 403);
  });

  it('refuses a post from another origin even with a valid token and cookie', async () => {
    const browser = new ScriptedBrowser(server, 'https://evil.example');
    const token = await openPage(browser);
    const page = await browser.post({ ...credentials(), csrf_token: token });
    assertErrorPage(page, 403);
    assertErrorPage(await new ScriptedBrowser(server, 'null').post({ ...credentials(), csrf_token: token }), 403);
  });

  it('refuses a token made for the sign-in step at the membership step', async () => {
    const browser = new ScriptedBrowser(server);
    const token = await openPage(browser);
    assertErrorPage(await browser.post({ _form: 'choose', csrf_token: token, membership: member.membershipId }), 403);
  });

  it('shows the form again, without redirecting, for a wrong password', async () => {
    const browser = new ScriptedBrowser(server);
    const token = await openPage(browser);
    const page = await browser.post({ ...credentials(), password: 'wrong password entirely', csrf_token: token });
    assert.equal(page.status, 400);
    assert.equal(page.location, undefined);
    assert.match(page.html, /Email or password is invalid/);
    formToken(page.html);
  });
});

describe('codes from the authorize endpoint', () => {
  const codeFor = async (client: RegisteredClient): Promise<{ code: string; verifier: string }> => {
    const { verifier, challenge } = pkcePair();
    const landed = await new ScriptedBrowser(server).signIn(authorizeUrl(server, { client_id: client.id, code_challenge: challenge, code_challenge_method: 'S256' }), member.email);
    const params = redirectParams(landed);
    assert.equal(params.get('state'), 'st-1');
    assert.equal(params.get('iss'), server.baseUrl);
    return { code: params.get('code') as string, verifier };
  };

  it('refuses a code issued to client A when client B presents it', async () => {
    const clientB = await registerClient(server, member);
    const { code, verifier } = await codeFor(publicClient);
    const stolen = await tokenRequest(server, { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientB.id, redirect_uri: REDIRECT_URI });
    assert.equal(stolen.body.error, 'invalid_grant');
    const anonymous = await tokenRequest(server, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI });
    assert.equal(anonymous.body.error, 'invalid_grant');
  });

  it('requires the redirect_uri of the authorization request at the token endpoint', async () => {
    const { code, verifier } = await codeFor(publicClient);
    const base = { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: publicClient.id };
    assert.equal((await tokenRequest(server, base)).body.error, 'invalid_grant');
    assert.equal((await tokenRequest(server, { ...base, redirect_uri: 'https://app.example/cb' })).body.error, 'invalid_grant');
    const ok = await tokenRequest(server, { ...base, redirect_uri: REDIRECT_URI });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.project, { reference: `Project/${member.projectId}` });
  });

  it('requires a confidential client to authenticate even with a valid verifier', async () => {
    const secret = confidentialSecret();
    const client = await registerClient(server, member, { secret });
    const { code, verifier } = await codeFor(client);
    const base = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI };
    const unauthenticated = await tokenRequest(server, { ...base, client_id: client.id });
    assert.equal(unauthenticated.status, 401);
    assert.equal(unauthenticated.body.error, 'invalid_client');
    const wrong = await tokenRequest(server, base, basic(client.id, 'not the secret'));
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic/);
    assert.equal((await tokenRequest(server, base, basic(client.id, secret))).status, 200);
  });

  it('offers only memberships of the client\'s project', async () => {
    const elsewhere = await memberWithPassword(server);
    // The same user joins a second project; the client of the first sees one membership only.
    await new SystemRepository(server.deps).create<ProjectMembership>(systemScope(elsewhere.projectId), {
      resourceType: 'ProjectMembership',
      project: { reference: `Project/${elsewhere.projectId}` },
      user: { reference: `User/${member.userId}` },
      profile: { reference: elsewhere.profile },
      active: true,
    });
    const { code, verifier } = await codeFor(publicClient);
    const res = await tokenRequest(server, { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: publicClient.id, redirect_uri: REDIRECT_URI });
    assert.deepEqual(res.body.project, { reference: `Project/${member.projectId}` });
    const outsider = await new ScriptedBrowser(server).signIn(
      authorizeUrl(server, { client_id: publicClient.id, code_challenge: pkcePair().challenge, code_challenge_method: 'S256' }),
      elsewhere.email,
    );
    assert.equal(outsider.status, 403);
    assert.equal(outsider.location, undefined);
  });
});
