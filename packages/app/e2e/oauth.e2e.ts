/**
 * The OAuth authorize screen end to end, as a third-party application uses it: a registered
 * ClientApplication whose redirect URI is a small HTTP server of this test, an `openid-client`
 * authorization URL with PKCE S256, state and nonce opened in Chromium (at 390px wide), the
 * `/oauth` page filled in (its email pre-filled from `login_hint`), the browser landing on the redirect URI with the code, the code
 * exchanged for tokens by openid-client (which checks state, iss, nonce and the id token), and
 * userinfo answering. Also an MFA-enrolled user's TOTP step, and Cancel (access_denied).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { User } from '@medplum/fhirtypes';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { newTotpSecret, totpCode } from '../../server/src/auth/mfa-totp.ts';
import { SYSTEM_PROJECT_ID, systemScope } from '../../server/src/fhir/scope.ts';
import { SystemRepository } from '../../server/src/fhir/system-repository.ts';
import type { TestMember } from '../../server/test/factories.ts';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';
import { memberWithPassword, PASSWORD, registerClient } from '../../server/test/oauth-fixtures.ts';
import { launchChromium, screenshot } from './browser.ts';

/** The application's redirect URI: answers every request with a plain page. */
async function startCallbackServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>Chart Viewer</title><h1>Back in Chart Viewer</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return { server, url: `http://127.0.0.1:${address.port}/callback` };
}

describe('web app: the OAuth authorize screen for a third-party application', () => {
  let server: TestServer;
  let callback: { server: Server; url: string };
  let browser: Browser;
  let page: Page;
  let member: TestMember;
  let config: oidc.Configuration;
  const consoleErrors: string[] = [];

  before(async () => {
    callback = await startCallbackServer();
    server = await startTestServer({ followRealTime: true });
    member = await memberWithPassword(server);
    const client = await registerClient(server, member, { name: 'Chart Viewer', redirectUris: [callback.url] });
    config = await oidc.discovery(new URL(server.baseUrl), client.id, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    // A CSP violation or a script error shows up here (4xx answers the page expects are not errors).
    page.on('console', (m) => m.type() === 'error' && !/status of 4\d\d/.test(m.text()) && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await new Promise((resolve) => callback?.server.close(resolve));
  });

  /** An authorization request as the application makes it (with `login_hint` when it knows the user). */
  async function authorization(scope: string, loginHint?: string) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: callback.url,
      scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(loginHint ? { login_hint: loginHint } : {}),
    });
    return { url, verifier, state, nonce };
  }

  async function openScreen(url: URL): Promise<void> {
    await page.goto(url.toString());
    await page.waitForURL(`${server.baseUrl}oauth?**`);
    await page.getByRole('heading', { name: 'Sign in to Chart Viewer' }).waitFor();
  }

  it('signs in on /oauth, lands on the redirect URI with a code, and the code gets tokens and userinfo', async () => {
    const request = await authorization('openid profile email fhirUser patient/Observation.rs', member.email);
    await openScreen(request.url);
    const asks = page.getByRole('list', { name: 'What the application asks for' });
    await asks.getByText('Read and search Observation records about the selected patient').waitFor();
    await asks.getByText('See your email address').waitFor();
    // login_hint went through /oauth2/authorize's redirect and filled the email in.
    assert.equal(await page.getByLabel(/^Email/).inputValue(), member.email);
    // A wrong password: the server's words, on the page, and the browser stays here.
    await page.getByLabel(/^Password/).fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Email or password is invalid').waitFor();
    assert.ok(page.url().startsWith(`${server.baseUrl}oauth?`));
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await screenshot(page, 'oauth');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${callback.url}?**`);
    await page.getByRole('heading', { name: 'Back in Chart Viewer' }).waitFor();
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.get('state'), request.state);
    assert.equal(landed.searchParams.get('iss'), server.baseUrl);
    const tokens = await oidc.authorizationCodeGrant(config, landed, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      idTokenExpected: true,
    });
    assert.equal(tokens.scope, 'openid profile email fhirUser patient/Observation.rs');
    const claims = tokens.claims();
    assert.equal(claims?.sub, member.userId);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, member.userId);
    assert.equal(info.email, member.email);
    assert.equal(info.fhirUser, `${server.fhirUrl}${member.profile}`);
    assert.deepEqual(consoleErrors, []);
  });

  it('asks an MFA-enrolled user for the code from the authenticator app', async () => {
    const system = new SystemRepository(server.deps);
    const user = (await system.read<User>(systemScope(SYSTEM_PROJECT_ID), 'User', member.userId)) as User & { id: string };
    const secret = newTotpSecret();
    await system.update<User>(systemScope(SYSTEM_PROJECT_ID), { ...user, mfaEnrolled: true, mfaSecret: secret });
    try {
      const request = await authorization('openid');
      await openScreen(request.url);
      await page.getByLabel(/^Email/).fill(member.email);
      await page.getByLabel(/^Password/).fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const code = page.getByLabel(/^Code from your authenticator app/);
      await code.waitFor();
      // The focus moves to the new field, so a keyboard or screen reader user is where the form is.
      // (A string, as the e2e files are type-checked without the DOM's types.)
      assert.equal(await page.evaluate('document.activeElement?.id'), await code.getAttribute('id'));
      await code.fill(totpCode(secret, server.clock.now()));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.waitForURL(`${callback.url}?**`);
      const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), {
        pkceCodeVerifier: request.verifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
        idTokenExpected: true,
      });
      assert.equal(tokens.claims()?.sub, member.userId);
    } finally {
      await system.update<User>(systemScope(SYSTEM_PROJECT_ID), { ...user });
    }
  });

  it('Cancel sends the browser back with access_denied and the state, and no code', async () => {
    const request = await authorization('openid');
    await openScreen(request.url);
    await page.getByRole('button', { name: 'Cancel and return to Chart Viewer' }).click();
    await page.waitForURL(`${callback.url}?**`);
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.get('error'), 'access_denied');
    assert.equal(landed.searchParams.get('state'), request.state);
    assert.equal(landed.searchParams.get('code'), null);
    await assert.rejects(
      oidc.authorizationCodeGrant(config, landed, { pkceCodeVerifier: request.verifier, expectedState: request.state }),
      (err: Error & { error?: string }) => err.error === 'access_denied',
    );
  });

  it('shows a request whose redirect URI the client did not register as an error, and sends nobody there', async () => {
    const request = await authorization('openid');
    const forged = new URL(`${server.baseUrl}oauth`);
    forged.search = request.url.search;
    forged.searchParams.set('redirect_uri', 'https://evil.example/callback');
    await page.goto(forged.toString());
    await page.getByRole('heading', { name: 'Sign-in request not accepted' }).waitFor();
    await page.getByText(/Incorrect redirect_uri/).waitFor();
    assert.equal(await page.getByRole('button', { name: /Cancel/ }).count(), 0);
    assert.equal(await page.getByLabel(/^Password/).count(), 0);
  });
});
