/**
 * A real SMTP server for tests (smtp-server), on a free loopback port, that keeps every
 * message it receives, parsed (mailparser) so a test reads the recipient, subject, text and
 * links the way a person would read the mail. Plain SMTP, no TLS: it only listens on
 * 127.0.0.1. Authentication is optional unless `auth` is given, then required.
 *
 *   const sink = await startSmtpSink();
 *   ... start the server with env { SMTP_URL: sink.url } and invite someone ...
 *   const mail = await sink.waitForMail((m) => m.to.includes('bob@example.com'));
 *   await fetch(mail.links[0]);
 *   await sink.close();
 */
import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** The envelope sender (MAIL FROM). */
  envelopeFrom: string;
  /** The envelope recipients (RCPT TO), lower-case: who the mail was actually sent to. */
  envelopeTo: string[];
  /** The From header's address, lower-case (`no-reply@localhost`). */
  from: string;
  /** The From header's display name (`Tessera`), when it has one. */
  fromName?: string;
  /** The To header's addresses, lower-case. */
  to: string[];
  subject: string;
  /**
   * The plain-text body without its final line break: SMTP ends every message with one, so a
   * text sent as `Hello` arrives as `Hello\n`, and one sent as `Hello\n` as `Hello\n` too.
   */
  text: string;
  html?: string;
  messageId?: string;
  /** The http(s) URLs in the text, in order: what a reader would click. */
  links: string[];
  /** The user name the client logged in with, when it did. */
  authUser?: string;
  /** The message exactly as received, headers included. */
  raw: string;
}

export interface SmtpSink {
  /** `smtp://127.0.0.1:<port>`, with the credentials when `auth` was given: a value for SMTP_URL. */
  url: string;
  port: number;
  /** Every message received so far, oldest first. */
  readonly messages: readonly ReceivedMail[];
  /** The first message (already received or still to come) that matches; rejects after `timeoutMs`. */
  waitForMail(predicate?: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

export interface SmtpSinkOptions {
  /** Require this login (AUTH PLAIN/LOGIN); without it, any client may send without one. */
  auth?: { user: string; pass: string };
}

interface Waiter {
  predicate: (mail: ReceivedMail) => boolean;
  resolve: (mail: ReceivedMail) => void;
}

const LINK = /https?:\/\/[^\s<>"')\]]+/g;

function addresses(header: AddressObject | AddressObject[] | undefined): string[] {
  const list = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return list.flatMap((h) => h.value.map((a) => (a.address ?? '').toLowerCase()));
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  let waiters: Waiter[] = [];

  function receive(mail: ReceivedMail): void {
    messages.push(mail);
    const matched = waiters.filter((w) => w.predicate(mail));
    waiters = waiters.filter((w) => !matched.includes(w));
    for (const w of matched) w.resolve(mail);
  }

  const server = new SMTPServer({
    logger: false,
    // STARTTLS would make nodemailer upgrade to the built-in self-signed certificate and
    // then refuse it; a loopback test server has no one to hide from.
    disabledCommands: options.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !options.auth,
    allowInsecureAuth: true,
    disableReverseLookup: true,
    onAuth(auth, _session, callback) {
      const ok = options.auth && auth.username === options.auth.user && auth.password === options.auth.pass;
      callback(ok ? null : new Error('Invalid username or password'), ok ? { user: auth.username } : undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            const text = (parsed.text ?? '').replace(/\r?\n$/, '');
            receive({
              envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
              from: (parsed.from?.value[0]?.address ?? '').toLowerCase(),
              ...(parsed.from?.value[0]?.name ? { fromName: parsed.from.value[0].name } : {}),
              to: addresses(parsed.to),
              subject: parsed.subject ?? '',
              text,
              ...(typeof parsed.html === 'string' ? { html: parsed.html } : {}),
              ...(parsed.messageId ? { messageId: parsed.messageId } : {}),
              links: text.match(LINK) ?? [],
              ...(typeof session.user === 'string' ? { authUser: session.user } : {}),
              raw: raw.toString('utf8'),
            });
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  const credentials = options.auth ? `${encodeURIComponent(options.auth.user)}:${encodeURIComponent(options.auth.pass)}@` : '';

  return {
    url: `smtp://${credentials}127.0.0.1:${port}`,
    port,
    messages,
    waitForMail(predicate = () => true, timeoutMs = 5000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          predicate,
          resolve: (mail) => {
            clearTimeout(timer);
            resolve(mail);
          },
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          const seen = messages.map((m) => `${m.to.join(',')}: ${m.subject}`).join('; ') || 'none';
          reject(new Error(`No matching mail within ${timeoutMs} ms (received: ${seen})`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
