/**
 * Forgotten passwords and set-password links, through the public API and a real SMTP server:
 * the mail and its link, single use, expiry, concurrent use, the same answer for an unknown
 * email, and what a reset ends (every session of the account).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createInviteRequest } from '../src/auth/security-requests.js';
import { createAccount, freshAddress, login, meStatus, post, refreshStatus, uniqueEmail, PASSWORD } from './auth-client.js';
import { expectOutcome } from './expect-outcome.js';
import { createMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';

const NEW_PASSWORD = 'another quite long passphrase';

function outcomeResponse(res: { status: number; headers: Record<string, unknown>; body: unknown }) {
  return { status: res.status, headers: new Headers({ 'content-type': String(res.headers['content-type'] ?? '') }), body: res.body };
}

describe('password reset', () => {
  let sink: SmtpSink;
  let server: TestServer;

  before(async () => {
    sink = await startSmtpSink();
    server = await startTestServer({ env: { SMTP_URL: sink.url } });
  });
  after(async () => {
    await server.close();
    await sink.close();
  });

  /** Asks for a reset and returns the link's parts from the mail the account received. */
  async function resetLink(email: string): Promise<{ url: string; id: string; secret: string }> {
    const seen = sink.messages.length;
    const res = await post(server, 'auth/resetpassword', { email });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const mail = await sink.waitForMail((m) => m.to.includes(email) && sink.messages.indexOf(m) >= seen);
    const url = mail.links.find((l) => l.startsWith(`${server.baseUrl}setpassword/`));
    assert.ok(url, mail.text);
    const [id, secret] = url.slice(`${server.baseUrl}setpassword/`.length).split('/');
    return { url, id: id as string, secret: secret as string };
  }

  it('emails a link that sets a new password once, and ends every session of the account', async () => {
    const account = await createAccount(server);
    const link = await resetLink(account.email);
    assert.match(link.url, /^http:\/\/127\.0\.0\.1:\d+\/setpassword\/[0-9a-f-]{36}\/[A-Za-z0-9_-]{43}$/);

    const set = await post(server, 'auth/setpassword', { id: link.id, secret: link.secret, password: NEW_PASSWORD });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.resourceType, 'OperationOutcome');

    assert.equal((await login(server, account.email, NEW_PASSWORD)).status, 200);
    assert.equal((await login(server, account.email, PASSWORD, { from: freshAddress() })).status, 400);
    // Whoever knew the old password loses the tokens they had: access and refresh alike.
    assert.equal(await meStatus(server, account.accessToken), 401);
    assert.equal(await refreshStatus(server, account.refreshToken as string), 400);

    const again = await post(server, 'auth/setpassword', { id: link.id, secret: link.secret, password: 'yet another long passphrase' });
    expectOutcome(outcomeResponse(again), 400, 'id');
    assert.equal((await login(server, account.email, NEW_PASSWORD)).status, 200);
  });

  it('answers an unknown email exactly as a known one, and mails only the known one', async () => {
    const account = await createAccount(server);
    const unknown = uniqueEmail('nobody');
    const forUnknown = await post(server, 'auth/resetpassword', { email: unknown });
    const forKnown = await post(server, 'auth/resetpassword', { email: account.email });
    assert.equal(forUnknown.status, 200);
    assert.equal(forKnown.status, forUnknown.status);
    assert.deepEqual(forKnown.body, forUnknown.body);
    await sink.waitForMail((m) => m.to.includes(account.email));
    // The unknown address's work started first and has nothing to send: give it time anyway.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(sink.messages.filter((m) => m.envelopeTo.includes(unknown)).length, 0);
  });

  it('accepts a link until its expiry (1 hour), then refuses it and leaves the password as it was', async () => {
    const inTime = await createAccount(server);
    const late = await createAccount(server);
    const inTimeLink = await resetLink(inTime.email);
    const lateLink = await resetLink(late.email);
    server.clock.advance(59 * 60 * 1000);
    assert.equal((await post(server, 'auth/setpassword', { id: inTimeLink.id, secret: inTimeLink.secret, password: NEW_PASSWORD })).status, 200);
    server.clock.advance(2 * 60 * 1000);
    const expired = await post(server, 'auth/setpassword', { id: lateLink.id, secret: lateLink.secret, password: NEW_PASSWORD });
    expectOutcome(outcomeResponse(expired), 400, 'id');
    assert.match(expired.body.issue[0].details.text, /expired/);
    assert.equal((await login(server, late.email, PASSWORD)).status, 200);
  });

  it('retires older links once a password is set with a newer one', async () => {
    const account = await createAccount(server);
    const older = await resetLink(account.email);
    const newer = await resetLink(account.email);
    assert.equal((await post(server, 'auth/setpassword', { id: newer.id, secret: newer.secret, password: NEW_PASSWORD })).status, 200);
    const stale = await post(server, 'auth/setpassword', { id: older.id, secret: older.secret, password: 'an attacker passphrase' });
    expectOutcome(outcomeResponse(stale), 400, 'id');
    assert.equal((await login(server, account.email, NEW_PASSWORD)).status, 200);
  });

  it('sends one address at most 5 reset mails an hour, answering the same every time', async () => {
    const account = await createAccount(server);
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await post(server, 'auth/resetpassword', { email: account.email }));
    assert.deepEqual(new Set(answers.map((a) => JSON.stringify([a.status, a.body]))).size, 1);
    await sink.waitForMail((m) => sink.messages.filter((x) => x.to.includes(account.email)).length >= 5 && m.to.includes(account.email));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(sink.messages.filter((m) => m.to.includes(account.email)).length, 5);
  });

  /** The secret with its last character changed (to one it is not: 'A' could already be there). */
  const wrongSecret = (secret: string): string => `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;

  it('refuses a wrong secret on `secret`, and a weak password on `password` without using up the link', async () => {
    const account = await createAccount(server);
    const link = await resetLink(account.email);
    const from = freshAddress();
    const wrong = await post(server, 'auth/setpassword', { id: link.id, secret: wrongSecret(link.secret), password: NEW_PASSWORD }, { from });
    expectOutcome(outcomeResponse(wrong), 400, 'secret');
    const unknownId = await post(server, 'auth/setpassword', { id: crypto.randomUUID(), secret: link.secret, password: NEW_PASSWORD }, { from });
    assert.deepEqual(unknownId.body, wrong.body);
    const weak = await post(server, 'auth/setpassword', { id: link.id, secret: link.secret, password: 'password123' });
    expectOutcome(outcomeResponse(weak), 400, 'password');
    const ownEmail = await post(server, 'auth/setpassword', { id: link.id, secret: link.secret, password: account.email });
    expectOutcome(outcomeResponse(ownEmail), 400, 'password');
    const good = await post(server, 'auth/setpassword', { id: link.id, secret: link.secret, password: NEW_PASSWORD });
    assert.equal(good.status, 200, JSON.stringify(good.body));
  });

  it('lets exactly one of two concurrent uses of a link succeed', async () => {
    const account = await createAccount(server);
    const link = await resetLink(account.email);
    const passwords = ['first concurrent passphrase', 'second concurrent passphrase'];
    const results = await Promise.all(passwords.map((password) => post(server, 'auth/setpassword', { id: link.id, secret: link.secret, password })));
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 400], JSON.stringify(results.map((r) => r.body)));
    const winner = passwords[results.findIndex((r) => r.status === 200)] as string;
    const loser = passwords.find((p) => p !== winner) as string;
    assert.equal((await login(server, account.email, winner)).status, 200);
    assert.equal((await login(server, account.email, loser, { from: freshAddress() })).status, 400);
  });

  it('makes invite links that last 7 days and set a first password', async () => {
    const deps = { ...server.deps, baseUrl: server.baseUrl };
    const early = await createMember(server);
    const late = await createMember(server);
    const earlyInvite = await createInviteRequest(deps, early.userId);
    const lateInvite = await createInviteRequest(deps, late.userId);
    assert.equal(lateInvite.expiresAt.getTime() - server.clock.now().getTime(), 7 * 24 * 3600 * 1000);
    assert.match(earlyInvite.url, new RegExp(`^${server.baseUrl}setpassword/${earlyInvite.request.id}/[A-Za-z0-9_-]{43}$`));
    const secretOf = (url: string): string => url.split('/').pop() as string;
    server.clock.advance(6 * 24 * 3600 * 1000);
    assert.equal((await post(server, 'auth/setpassword', { id: earlyInvite.request.id, secret: secretOf(earlyInvite.url), password: NEW_PASSWORD })).status, 200);
    assert.equal((await login(server, early.email, NEW_PASSWORD)).status, 200);
    server.clock.advance(24 * 3600 * 1000 + 1000);
    const expired = await post(server, 'auth/setpassword', { id: lateInvite.request.id, secret: secretOf(lateInvite.url), password: NEW_PASSWORD });
    expectOutcome(outcomeResponse(expired), 400, 'id');
    assert.match(expired.body.issue[0].details.text, /expired/);
  });
});

describe('password change', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('needs the current password, applies the policy, and signs out the other sessions only', async () => {
    const account = await createAccount(server);
    const other = await login(server, account.email, PASSWORD);
    assert.equal(other.status, 200);
    const from = freshAddress();
    const options = { token: account.accessToken, from };

    const wrong = await post(server, 'auth/changepassword', { oldPassword: 'not my password', newPassword: NEW_PASSWORD }, options);
    expectOutcome(outcomeResponse(wrong), 400, 'oldPassword');
    const weak = await post(server, 'auth/changepassword', { oldPassword: PASSWORD, newPassword: 'short' }, options);
    expectOutcome(outcomeResponse(weak), 400, 'newPassword');
    const anonymous = await post(server, 'auth/changepassword', { oldPassword: PASSWORD, newPassword: NEW_PASSWORD }, { from });
    assert.equal(anonymous.status, 401);

    const changed = await post(server, 'auth/changepassword', { oldPassword: PASSWORD, newPassword: NEW_PASSWORD }, options);
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal((await login(server, account.email, PASSWORD, { from })).status, 400);
    assert.equal((await login(server, account.email, NEW_PASSWORD)).status, 200);
    assert.equal(await meStatus(server, account.accessToken), 200);
    // The other sign-in had a code not yet exchanged: it cannot be any more.
    const exchanged = await post(server, 'oauth2/token', { grant_type: 'authorization_code', code: other.body.code, code_verifier: other.verifier }, { form: true });
    assert.equal(exchanged.status, 400);
  });
});
