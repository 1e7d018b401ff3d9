/**
 * Header injection and address checks: no message field may add a header, a recipient or an
 * SMTP command. Each refusal is an `EmailMessageError` naming the field, raised before
 * anything is sent or stored.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../config.js';
import type { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { cryptoRandom } from '../deps.js';
import { FakeClock, openTestDatabase } from '../../test/harness.js';
import { startSmtpSink, type SmtpSink } from '../../test/smtp-sink.js';
import { addressProblem, EmailMessageError, parseSender, type EmailField, type EmailMessage, type Mailer } from './mailer.js';
import { createMailer } from './open-mailer.js';
import { EmailOutbox } from './outbox.js';
import { createSmtpMailer } from './smtp-mailer.js';

const victim = 'victim@example.com';

const hostile: { name: string; field: EmailField; change: Partial<EmailMessage> }[] = [
  { name: 'CRLF and a Bcc header in the subject', field: 'subject', change: { subject: `Hello\r\nBcc: ${victim}` } },
  { name: 'a bare LF in the subject', field: 'subject', change: { subject: `Hello\nBcc: ${victim}` } },
  { name: 'a bare CR in the subject', field: 'subject', change: { subject: `Hello\rBcc: ${victim}` } },
  { name: 'a NUL in the subject', field: 'subject', change: { subject: 'Hello\u0000' } },
  { name: 'CRLF and an SMTP command in the address', field: 'to', change: { to: `a@example.com\r\nRCPT TO:<${victim}>` } },
  { name: 'CRLF and a Bcc header in the address', field: 'to', change: { to: `a@example.com\r\nBcc: ${victim}` } },
  { name: 'a second recipient after a comma', field: 'to', change: { to: `a@example.com, ${victim}` } },
  { name: 'a second recipient after a semicolon', field: 'to', change: { to: `a@example.com;${victim}` } },
  { name: 'a display name hiding another address', field: 'to', change: { to: `a@example.com <${victim}>` } },
  { name: 'a group', field: 'to', change: { to: `friends: ${victim};` } },
];

describe('email header injection', () => {
  let sink: SmtpSink;
  let db: Database;
  const clock = new FakeClock();
  const outbox = (): EmailOutbox => new EmailOutbox({ db, clock, random: cryptoRandom });

  before(async () => {
    sink = await startSmtpSink();
    db = await openTestDatabase();
    await migrate(db);
  });
  after(async () => {
    await sink.close();
    await db.close();
  });

  async function assertRefusedEverywhere(mailers: Mailer[], message: EmailMessage, field: EmailField): Promise<void> {
    for (const mailer of mailers) {
      await assert.rejects(mailer.send(message), (err: Error) => {
        assert.ok(err instanceof EmailMessageError, `${err.name}: ${err.message}`);
        assert.equal(err.field, field);
        return true;
      });
    }
  }

  for (const { name, field, change } of hostile) {
    test(`refuses ${name}, on SMTP and in the outbox, and sends or stores nothing`, async () => {
      const marker = randomUUID();
      const smtp = createSmtpMailer({ url: sink.url, from: 'no-reply@tessera.test' });
      const stored = createMailer(loadConfig({}), { db, clock, random: cryptoRandom });
      const message = { to: 'a@example.com', subject: `Hi ${marker}`, text: marker, ...change };

      await assertRefusedEverywhere([smtp, stored], message, field);

      // A good message after it arrives, so the sink has seen everything sent before it.
      const after = `after-${randomUUID()}@example.com`;
      assert.equal((await smtp.send({ to: after, subject: 'after', text: 'after' })).delivered, true);
      await sink.waitForMail((m) => m.to.includes(after));
      assert.deepEqual(sink.messages.filter((m) => m.raw.includes(marker) || m.envelopeTo.includes(victim)), []);
      assert.deepEqual(await outbox().list({ limit: 5, to: message.to }), []);
      assert.deepEqual(await outbox().list({ limit: 5, to: victim }), []);
    });
  }

  test('the refusal says what is wrong, for a form to show by the field', async () => {
    const mailer = createMailer(loadConfig({}), { db, clock, random: cryptoRandom });
    await assert.rejects(mailer.send({ to: 'a@example.com', subject: 'a\r\nb', text: '' }), {
      name: 'EmailMessageError',
      message: 'The subject must be one line: it contains a line break',
    });
    await assert.rejects(mailer.send({ to: 'a@example.com\nb', subject: 'a', text: '' }), {
      name: 'EmailMessageError',
      message: 'The to address must not contain a line break',
    });
  });

  test('a body may hold line breaks, and a line of its own cannot end the message early', async () => {
    const to = `body-${randomUUID().slice(0, 8)}@example.com`;
    const text = `First\r\n.\r\nBcc: ${victim}\r\n\r\nQUIT\nlast`;
    const result = await createSmtpMailer({ url: sink.url, from: 'no-reply@tessera.test' }).send({ to, subject: 'Body', text });
    assert.equal(result.delivered, true);
    const mail = await sink.waitForMail((m) => m.to.includes(to));
    assert.deepEqual(mail.envelopeTo, [to]);
    assert.equal(mail.text, text.replace(/\r\n/g, '\n'));
  });

  test('EMAIL_FROM is checked at start: a line break or a second address is a configuration error', () => {
    for (const from of [`Tessera <a@example.com>\r\nBcc: ${victim}`, `a@example.com, ${victim}`, 'Tessera', 'Tessera <>']) {
      assert.throws(() => loadConfig({ EMAIL_FROM: from }), (err: Error) => err instanceof ConfigError && /EMAIL_FROM/.test(err.message));
    }
    assert.throws(() => createSmtpMailer({ url: sink.url, from: 'x\r\ny@example.com' }), EmailMessageError);
    assert.deepEqual(parseSender('Tessera, Inc. <no-reply@example.com>'), { name: 'Tessera, Inc.', address: 'no-reply@example.com' });
  });

  test('addresses: plain local@domain only', () => {
    for (const ok of ['a@example.com', 'first.last+tag@sub.example.co.uk', "o'hara@example.ie", 'x@localhost', 'user@bücher.example']) {
      assert.equal(addressProblem(ok), undefined, ok);
    }
    for (const bad of ['', 'a', '@example.com', 'a@', 'a b@example.com', 'a..b@example.com', '.a@example.com', 'a@-example.com', 'a@example..com', '"a"@example.com', `${'a'.repeat(65)}@example.com`, `a@${'b'.repeat(250)}.com`]) {
      assert.notEqual(addressProblem(bad), undefined, bad);
    }
  });
});
