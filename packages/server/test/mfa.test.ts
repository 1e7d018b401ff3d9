/**
 * TOTP multi-factor authentication through `/auth/mfa/*`: enrollment, a password sign-in that
 * stops at `mfaRequired` until a code is verified, codes used once, throttled attempts,
 * disabling, and the same flow through the official MedplumClient.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MedplumClient } from '@medplum/core';
import { totpCode } from '../src/auth/mfa-totp.js';
import { call, createAccount, exchangeCode, freshAddress, login, post, type Account, type JsonResponse } from './auth-client.js';
import { installBrowserGlobals } from './browser-globals.js';
import { expectOutcome } from './expect-outcome.js';
import { startTestServer, type TestServer } from './harness.js';

const STEP_MS = 30_000;

function asOutcome(res: JsonResponse) {
  return { status: res.status, headers: new Headers({ 'content-type': String(res.headers['content-type'] ?? '') }), body: res.body };
}

describe('multi-factor authentication (TOTP)', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
    installBrowserGlobals(server.baseUrl);
  });
  after(() => server.close());

  const status = (account: Account): Promise<JsonResponse> => call(server, 'GET', 'auth/mfa/status', undefined, { token: account.accessToken });
  const code = (secret: string): string => totpCode(secret, server.clock.now());

  /** Enrolls the account and returns its secret; the clock is then one step on, so the next code is unused. */
  async function enroll(account: Account): Promise<string> {
    const res = await status(account);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const secret = new URL(res.body.enrollUri).searchParams.get('secret') as string;
    const enrolled = await post(server, 'auth/mfa/enroll', { token: code(secret) }, { token: account.accessToken });
    assert.equal(enrolled.status, 200, JSON.stringify(enrolled.body));
    server.clock.advance(STEP_MS);
    return secret;
  }

  it('enrolls with a code from the URI, then shows the secret no more', async () => {
    const account = await createAccount(server);
    const first = await status(account);
    assert.equal(first.status, 200);
    assert.equal(first.body.enrolled, false);
    const secret = new URL(first.body.enrollUri).searchParams.get('secret') as string;
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.equal(first.body.enrollUri, `otpauth://totp/Tessera:${encodeURIComponent(account.email)}?secret=${secret}&issuer=Tessera`);
    // The same secret until enrollment, so a second look shows the same code.
    assert.equal((await status(account)).body.enrollUri, first.body.enrollUri);

    expectOutcome(asOutcome(await post(server, 'auth/mfa/enroll', { token: '000000' === code(secret) ? '111111' : '000000' }, { token: account.accessToken, from: freshAddress() })), 400, 'token');
    assert.equal((await post(server, 'auth/mfa/enroll', { token: code(secret) }, { token: account.accessToken })).status, 200);
    const after = await status(account);
    assert.deepEqual(after.body, { enrolled: true });
    const me = await call(server, 'GET', 'auth/me', undefined, { token: account.accessToken });
    assert.equal(me.body.security.mfaEnrolled, true);
    assert.equal(JSON.stringify(me.body).includes(secret), false);
    assert.equal((await call(server, 'GET', 'auth/mfa/status')).status, 401);
  });

  it('holds a password sign-in at mfaRequired until a code is verified; a code works once', async () => {
    const account = await createAccount(server);
    const secret = await enroll(account);

    const started = await login(server, account.email, account.password);
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.deepEqual(Object.keys(started.body).sort(), ['login', 'mfaRequired']);
    assert.equal(started.body.mfaRequired, true);
    // No way around the second factor: choosing a profile or making a project needs it first.
    const me = await call(server, 'GET', 'auth/me', undefined, { token: account.accessToken });
    expectOutcome(asOutcome(await post(server, 'auth/profile', { login: started.body.login, profile: me.body.membership.id })), 400, 'login');
    expectOutcome(asOutcome(await post(server, 'auth/newproject', { login: started.body.login, projectName: 'Sneaky' })), 400, 'login');

    const from = freshAddress();
    expectOutcome(asOutcome(await post(server, 'auth/mfa/verify', { login: started.body.login, token: '12345' }, { from })), 400, 'token');
    const token = code(secret);
    const verified = await post(server, 'auth/mfa/verify', { login: started.body.login, token });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal(verified.body.login, started.body.login);
    const tokens = await exchangeCode(server, verified.body.code, started.verifier);
    assert.equal((await call(server, 'GET', 'auth/me', undefined, { token: tokens.accessToken })).status, 200);
    expectOutcome(asOutcome(await post(server, 'auth/mfa/verify', { login: started.body.login, token })), 400, 'login');

    // The same code on another sign-in, still within its 30 seconds: refused as a replay.
    const second = await login(server, account.email, account.password);
    const replay = await post(server, 'auth/mfa/verify', { login: second.body.login, token }, { from });
    expectOutcome(asOutcome(replay), 400, 'token');
    assert.match(replay.body.issue[0].details.text, /already used/);
    // A code of the step before the one used is refused too, though inside the window.
    server.clock.advance(STEP_MS);
    const older = totpCode(secret, new Date(server.clock.now().getTime() - 2 * STEP_MS));
    expectOutcome(asOutcome(await post(server, 'auth/mfa/verify', { login: second.body.login, token: older }, { from })), 400, 'token');
    const next = await post(server, 'auth/mfa/verify', { login: second.body.login, token: code(secret) });
    assert.equal(next.status, 200, JSON.stringify(next.body));
    assert.ok(next.body.code);
  });

  it('asks for MFA before letting an enrolled user start a new project', async () => {
    const account = await createAccount(server);
    const secret = await enroll(account);
    const started = await post(server, 'auth/login', { email: account.email, password: account.password, projectId: 'new' });
    assert.deepEqual(started.body, { login: started.body.login, mfaRequired: true });
    const verified = await post(server, 'auth/mfa/verify', { login: started.body.login, token: code(secret) });
    assert.deepEqual(verified.body, { login: started.body.login });
    const made = await post(server, 'auth/newproject', { login: started.body.login, projectName: 'Second project' });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    assert.ok(made.body.code);
  });

  it('throttles wrong codes: the 6th attempt on a user answers 429 with Retry-After', async () => {
    const account = await createAccount(server);
    const secret = await enroll(account);
    const started = await login(server, account.email, account.password);
    const right = code(secret);
    const wrong = right === '999999' ? '888888' : '999999';
    for (let i = 0; i < 5; i++) {
      expectOutcome(asOutcome(await post(server, 'auth/mfa/verify', { login: started.body.login, token: wrong }, { from: freshAddress() })), 400, 'token');
    }
    const locked = await post(server, 'auth/mfa/verify', { login: started.body.login, token: right }, { from: freshAddress() });
    assert.equal(locked.status, 429);
    assert.equal(locked.headers['retry-after'], '60');
    server.clock.advance(61_000);
    assert.equal((await post(server, 'auth/mfa/verify', { login: started.body.login, token: code(secret) })).status, 200);
  });

  it('disables with a current code; the next sign-in needs no code and a new enrollment a new secret', async () => {
    const account = await createAccount(server);
    const secret = await enroll(account);
    const from = freshAddress();
    expectOutcome(asOutcome(await post(server, 'auth/mfa/disable', { token: '123456' === code(secret) ? '654321' : '123456' }, { token: account.accessToken, from })), 400, 'token');
    assert.equal((await post(server, 'auth/mfa/disable', { token: code(secret) }, { token: account.accessToken })).status, 200);
    const signedIn = await login(server, account.email, account.password);
    assert.ok(signedIn.body.code, JSON.stringify(signedIn.body));
    const again = await status(account);
    assert.equal(again.body.enrolled, false);
    assert.notEqual(new URL(again.body.enrollUri).searchParams.get('secret'), secret);
  });

  it('works with MedplumClient: startLogin, then auth/mfa/verify, then processCode', async () => {
    const account = await createAccount(server);
    const secret = await enroll(account);
    const medplum = new MedplumClient({ baseUrl: server.baseUrl, fetch: globalThis.fetch.bind(globalThis) });
    const started = await medplum.startLogin({ email: account.email, password: account.password });
    assert.equal(started.mfaRequired, true);
    assert.equal(started.code, undefined);
    const verified = await medplum.post('auth/mfa/verify', { login: started.login, token: code(secret) });
    await medplum.processCode(verified.code);
    assert.equal(medplum.getProfile()?.resourceType, 'Practitioner');
  });
});
