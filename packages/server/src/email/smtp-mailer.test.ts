/**
 * The SMTP mailer against a real SMTP server (test/smtp-sink.ts): what the recipient's mail
 * server receives, and what a caller gets back when the mail server is down or refuses.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../config.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { cryptoRandom } from '../deps.js';
import { openDeps } from '../open-deps.js';
import { FakeClock, openTestDatabase } from '../../test/harness.js';
import { startSmtpSink, type SmtpSink } from '../../test/smtp-sink.js';
import { createMailer } from './open-mailer.js';
import { EmailOutbox } from './outbox.js';
import { createSmtpMailer } from './smtp-mailer.js';

function newAddress(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}@example.com`;
}

/** The URL of an SMTP server that has just stopped: connections to it are refused. */
async function closedSmtpUrl(): Promise<string> {
  const gone = await startSmtpSink();
  await gone.close();
  return gone.url;
}

describe('SMTP mailer', () => {
  let sink: SmtpSink;
  let db: Database;
  const clock = new FakeClock();

  before(async () => {
    sink = await startSmtpSink();
    db = await openTestDatabase();
    await migrate(db);
  });
  after(async () => {
    await sink.close();
    await db.close();
  });

  test('delivers to the SMTP server: the recipient reads the exact sender, subject and text', async () => {
    const to = newAddress('alice');
    const link = `http://127.0.0.1:8103/setpassword/${randomUUID()}/${'s'.repeat(64)}`;
    // A line with a lone dot (which SMTP must escape), a long link (which quoted-printable
    // must fold) and non-ASCII characters (which must be encoded), all coming back intact.
    const text = `Hello Ælfrida,\n\nSet your password: ${link}\n.\nThe line above is a lone dot.`;
    const mailer = createSmtpMailer({ url: sink.url, from: 'Tessera, Test <no-reply@tessera.test>' });

    const result = await mailer.send({ to, subject: 'Welcome to Tessera – ünïcode', text, html: '<p>Hello</p>' });

    assert.equal(result.delivered, true);
    assert.equal(result.error, undefined);
    assert.ok(result.messageId);
    const mail = await sink.waitForMail((m) => m.to.includes(to));
    assert.deepEqual(mail.envelopeTo, [to]);
    assert.deepEqual(mail.to, [to]);
    assert.equal(mail.envelopeFrom, 'no-reply@tessera.test');
    assert.equal(mail.from, 'no-reply@tessera.test');
    assert.equal(mail.fromName, 'Tessera, Test');
    assert.equal(mail.subject, 'Welcome to Tessera – ünïcode');
    assert.equal(mail.text, text);
    assert.equal(mail.html, '<p>Hello</p>');
    assert.deepEqual(mail.links, [link]);
    assert.equal(mail.messageId, result.messageId);
  });

  test('logs in with the credentials in SMTP_URL', async () => {
    const authSink = await startSmtpSink({ auth: { user: 'mailer@tessera.test', pass: 'p@ss:word/1' } });
    try {
      const to = newAddress('bob');
      const result = await createSmtpMailer({ url: authSink.url, from: 'no-reply@tessera.test' }).send({ to, subject: 'Hi', text: 'Hello' });
      assert.equal(result.delivered, true);
      const mail = await authSink.waitForMail((m) => m.to.includes(to));
      assert.equal(mail.authUser, 'mailer@tessera.test');

      const wrong = authSink.url.replace(encodeURIComponent('p@ss:word/1'), 'wrong');
      const refused = await createSmtpMailer({ url: wrong, from: 'no-reply@tessera.test' }).send({ to, subject: 'Hi', text: 'Hello' });
      assert.equal(refused.delivered, false);
      assert.match(refused.error ?? '', /EAUTH|Invalid username or password/);
    } finally {
      await authSink.close();
    }
  });

  test('a mail server that is down gives delivered:false and the reason, without throwing', async () => {
    const mailer = createSmtpMailer({ url: await closedSmtpUrl(), from: 'no-reply@tessera.test', timeoutMs: 5000 });
    const result = await mailer.send({ to: newAddress('carol'), subject: 'Hi', text: 'Hello' });
    assert.equal(result.delivered, false);
    assert.equal(result.messageId, undefined);
    assert.match(result.error ?? '', /ECONNREFUSED/);
  });

  test('with SMTP_URL set, a message the server did not take is kept in the outbox with the error', async () => {
    const config = loadConfig({ SMTP_URL: await closedSmtpUrl(), EMAIL_FROM: 'Tessera <no-reply@tessera.test>' });
    const mailer = createMailer(config, { db, clock, random: cryptoRandom });
    const to = newAddress('dave');

    const result = await mailer.send({ to, subject: 'You are invited', text: 'Follow http://127.0.0.1/invite/1' });

    assert.equal(result.delivered, false);
    assert.match(result.error ?? '', /ECONNREFUSED/);
    assert.ok(result.outboxId);
    const [kept, ...others] = await new EmailOutbox({ db, clock, random: cryptoRandom }).list({ limit: 10, to });
    assert.equal(others.length, 0);
    assert.equal(kept?.id, result.outboxId);
    assert.equal(kept?.status, 'smtp_failed');
    assert.match(kept?.error ?? '', /ECONNREFUSED/);
    assert.equal(kept?.text, 'Follow http://127.0.0.1/invite/1');
    assert.equal(kept?.from, 'Tessera <no-reply@tessera.test>');
  });

  test('a message the server took is not copied into the outbox', async () => {
    const mailer = createMailer(loadConfig({ SMTP_URL: sink.url }), { db, clock, random: cryptoRandom });
    const to = newAddress('erin');
    const result = await mailer.send({ to, subject: 'Reset your password', text: 'http://127.0.0.1/setpassword/1/2' });
    assert.equal(result.delivered, true);
    assert.equal(result.outboxId, undefined);
    await sink.waitForMail((m) => m.to.includes(to));
    assert.deepEqual(await new EmailOutbox({ db, clock, random: cryptoRandom }).list({ limit: 10, to }), []);
  });

  test('openDeps builds the SMTP mailer from SMTP_URL and EMAIL_FROM', async () => {
    const config = loadConfig({ SMTP_URL: sink.url, EMAIL_FROM: 'Wired <wired@tessera.test>', LOG_LEVEL: 'silent' });
    const deps = await openDeps(config, { db, clock });
    const to = newAddress('frank');
    assert.equal((await deps.mailer.send({ to, subject: 'Wired', text: 'Through AppDeps' })).delivered, true);
    const mail = await sink.waitForMail((m) => m.to.includes(to));
    assert.equal(mail.from, 'wired@tessera.test');
    assert.equal(mail.fromName, 'Wired');
    assert.equal(mail.text, 'Through AppDeps');
  });
});
