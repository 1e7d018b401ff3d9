/**
 * The SMTP Mailer: nodemailer hands each message to the server named by `SMTP_URL`
 * (`smtp://user:pass@host:587`, `smtps://...` for TLS from the first byte; query parameters
 * such as `?requireTLS=true` become nodemailer options).
 *
 * What is recorded: a message the server accepted is not copied anywhere. The mail server's
 * log is the record of delivery, and a copy here would keep live invite and reset links in
 * our database for no reader. A message the server did not take is kept in the outbox
 * (status `smtp_failed`, with the error) when `keepFailed` is given, so an operator can pass
 * the link on by hand instead of the invite being lost.
 *
 * One connection per message, no pool: invites and resets are rare, and without a pool there
 * is nothing to close at shutdown and no connection that goes stale between messages.
 */
import nodemailer from 'nodemailer';
import { checkEmailMessage, EmailMessageError, parseSender, type EmailMessage, type Mailer, type SendResult } from './mailer.js';

export interface SmtpMailerOptions {
  /** `SMTP_URL`. */
  url: string;
  /** `EMAIL_FROM`, already checked by config.ts. */
  from: string;
  /** Keeps a message the server would not take; returns where (an outbox id). */
  keepFailed?: (message: EmailMessage, error: string) => Promise<string>;
  /**
   * How long to wait for the server, in ms. nodemailer's defaults (2 minutes to connect,
   * 10 of silence) would hold an invite request open far longer than anyone waits for it.
   */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;

export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  // Handed to nodemailer as name and address, not as text, so it quotes the name itself and
  // a comma in it ("Acme, Inc") cannot turn into a second sender.
  const from = parseSender(options.from);
  if (!from) {
    throw new EmailMessageError('from', `The sender ${JSON.stringify(options.from)} is not an address like Tessera <no-reply@example.com>`);
  }
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const transport = nodemailer.createTransport({
    url: options.url,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    // The server never attaches files or remote content; refusing them means no message
    // field can ever make nodemailer read a local file or fetch a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });

  async function keep(message: EmailMessage, error: string): Promise<SendResult> {
    if (!options.keepFailed) {
      return { delivered: false, error };
    }
    try {
      return { delivered: false, error, outboxId: await options.keepFailed(message, error) };
    } catch (err) {
      return { delivered: false, error: `${error}; keeping it in the outbox failed too: ${(err as Error).message}` };
    }
  }

  return {
    async send(message) {
      checkEmailMessage(message);
      let failure: string;
      try {
        const info = await transport.sendMail({
          from: from.name ? { name: from.name, address: from.address } : from.address,
          to: message.to,
          subject: message.subject,
          text: message.text,
          ...(message.html !== undefined ? { html: message.html } : {}),
        });
        if (info.accepted.length > 0) {
          return { delivered: true, messageId: info.messageId };
        }
        // With one recipient a refusal normally rejects (EENVELOPE); this covers a server
        // that takes the message but reports the recipient as rejected.
        failure = `The mail server rejected the recipient ${message.to}`;
      } catch (err) {
        failure = describeSmtpError(err);
      }
      return keep(message, failure);
    },
  };
}

/** nodemailer's message, prefixed with its code (ECONNECTION, EAUTH, EENVELOPE, ETIMEDOUT...) for logs and operators. */
function describeSmtpError(err: unknown): string {
  const e = err as { message?: string; code?: string };
  const message = e.message ?? String(err);
  return e.code && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}
