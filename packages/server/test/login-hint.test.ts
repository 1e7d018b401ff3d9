/**
 * OIDC's `login_hint` (Core 3.1.2.1) at `/oauth2/authorize`: an email address pre-fills the
 * sign-in form, HTML-escaped, and travels on to the web app's `/oauth` page; anything else
 * (markup, a phone number, an over-long address) is dropped. It is only a convenience: the user
 * signs in as whoever they type.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestMember } from './factories.js';
import type { TestServer } from './harness.js';
import { authorizeUrl, formToken, memberWithPassword, PASSWORD, pkcePair, redirectParams, registerClient, ScriptedBrowser, tokenRequest, REDIRECT_URI, type RegisteredClient, startServerWithAppBuild, type ServerWithAppBuild } from './oauth-fixtures.js';

let app: ServerWithAppBuild;
let server: TestServer;
let member: TestMember;
let client: RegisteredClient;

before(async () => {
  // A built web app, so a browser's GET is sent on to `/oauth`; a request that does not ask for HTML still gets the server's page.
  app = await startServerWithAppBuild('login-hint');
  server = app.server;
  member = await memberWithPassword(server);
  client = await registerClient(server, member, { name: 'Chart Viewer' });
});
after(() => app.close());

/** The `value` attribute of the sign-in page's email input, as the HTML has it (still escaped). */
function emailValue(html: string): string | undefined {
  return /<input id="email"[^>]*\svalue="([^"]*)"/.exec(html)?.[1];
}

function requestWithHint(hint: string): { url: string; verifier: string } {
  const { verifier, challenge } = pkcePair();
  return { url: authorizeUrl(server, { client_id: client.id, code_challenge: challenge, code_challenge_method: 'S256', login_hint: hint }), verifier };
}

/** Where `/oauth2/authorize` sends a browser: the web app's page, with the parameters it passes on. */
async function appPageParams(url: string): Promise<URLSearchParams> {
  const res = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
  assert.equal(res.status, 302);
  const location = new URL(res.headers.get('location') as string);
  assert.equal(location.pathname, '/oauth');
  return location.searchParams;
}

describe('login_hint', () => {
  it('pre-fills the email with an address, escaped, and the user may still sign in as someone else', async () => {
    // Valid in an email's local part, and each must be escaped inside an attribute.
    const hint = "o'hara&co@example.com";
    const { url, verifier } = requestWithHint(hint);
    const browser = new ScriptedBrowser(server);
    const page = await browser.get(url);
    assert.equal(page.status, 200);
    assert.equal(emailValue(page.html), 'o&#39;hara&amp;co@example.com');
    const landed = await browser.post({ _form: 'sign-in', csrf_token: formToken(page.html), email: member.email, password: PASSWORD });
    assert.equal(landed.status, 303);
    const code = redirectParams(landed).get('code') as string;
    const tokens = await tokenRequest(server, { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: client.id, redirect_uri: REDIRECT_URI });
    assert.equal(tokens.status, 200);
    assert.deepEqual(tokens.body.profile, { reference: member.profile });
  });

  it('pre-fills the page of an authorization request sent as a POST (authorize-post) too', async () => {
    const { url } = requestWithHint(` ${member.email} `);
    const page = await new ScriptedBrowser(server).post(Object.fromEntries(new URL(url).searchParams));
    assert.equal(page.status, 200);
    assert.equal(emailValue(page.html), member.email);
  });

  it('passes an address on to the web app\'s /oauth page', async () => {
    assert.equal((await appPageParams(requestWithHint('ada@example.com').url)).get('login_hint'), 'ada@example.com');
  });

  for (const [what, hint] of [
    ['markup that closes the attribute', '"><script>alert(1)</script>'],
    ['markup dressed as an address', '"><img src=x onerror=alert(1)>@example.com'],
    ['a phone number', '+1 555 0100'],
    ['a subject identifier', '248289761001'],
    ['an address longer than 254 characters', `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.example`],
  ]) {
    it(`drops a login_hint that is ${what}: the field is empty and the hint goes nowhere`, async () => {
      const { url } = requestWithHint(hint as string);
      const page = await new ScriptedBrowser(server).get(url);
      assert.equal(page.status, 200);
      assert.equal(emailValue(page.html), '');
      assert.doesNotMatch(page.html, /<script|<img|onerror/);
      assert.equal((await appPageParams(url)).has('login_hint'), false);
    });
  }
});
