/**
 * Mail the server sends (invites, password resets, email verification): the `Mailer`
 * interface and the checks every message passes before any implementation sees it.
 *
 * Two implementations, chosen from the config by `createMailer` (open-mailer.ts):
 * - SMTP (`SMTP_URL`, smtp-mailer.ts): nodemailer hands the message to a mail server.
 * - Outbox (no `SMTP_URL`, outbox.ts): the message is kept in the `email_outbox` table,
 *   where `tessera outbox` (and later the web app) shows it, so the embedded default loses
 *   nothing.
 *
 * Contract for callers:
 * - `send` never rejects because the mail could not go out (server down, refused login,
 *   rejected recipient, database error while storing): it resolves `delivered: false` with
 *   an `error`, so an invite still succeeds and can say the mail was not sent.
 * - It does reject, with `EmailMessageError`, for a message that must not be built at all: a
 *   line break in the subject or an address (header injection), or an address that is not
 *   one plain `local@domain`. That is a caller's bug or hostile input, never a mail-server
 *   problem; routes should check addresses first with `checkEmailAddress` and answer 400.
 * - Call `send` after the transaction that made the invite/reset has committed, with the
 *   plain database handle: no mail for a rolled-back change, and the outbox's own write
 *   cannot wait on the caller's transaction (which deadlocks on PGlite's one connection).
 *
 * Not here: templates (the features write their own text), retries, attachments.
 */

export interface EmailMessage {
  /** One recipient, a plain address (`alice@example.com`); no display name, no list. */
  to: string;
  /** One line. */
  subject: string;
  /** The plain-text body; it carries the links, so it must be complete without `html`. */
  text: string;
  html?: string;
  /** The project the mail is about (an invite), kept with an outbox row so a project admin can be shown only their own. */
  projectId?: string;
}

export interface SendResult {
  /** True only when a mail server accepted the message for delivery. */
  delivered: boolean;
  /** The Message-ID of a delivered message. */
  messageId?: string;
  /**
   * Why the message did not go out (connection refused, authentication failed, recipient
   * rejected, the outbox could not be written). Absent in outbox mode, where not sending
   * is the configuration rather than a failure.
   */
  error?: string;
  /** The `email_outbox` row that holds the message, when it was kept there. */
  outboxId?: string;
}

export interface Mailer {
  send(message: EmailMessage): Promise<SendResult>;
}

export type EmailField = 'to' | 'subject' | 'from';

/** A message the server refuses to build. `field` names the offending part, for an OperationOutcome's `expression`. */
export class EmailMessageError extends Error {
  constructor(
    readonly field: EmailField,
    message: string,
  ) {
    super(message);
    this.name = 'EmailMessageError';
  }
}

// CR and LF end a header line, so either in a header value could start a new header
// (RFC 5322 section 2.2) or, in an address, a new SMTP command. Other C0 controls and DEL
// have no business in a header either.
const CONTROL_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f]/;
const LINE_BREAK = /[\r\n]/;

// An RFC 5322 dot-atom local part (section 3.2.3), without quoted strings or comments: they
// are legal but nobody signs up with them, and every extra form is one more to parse wrongly.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
// Host-name labels (RFC 1123), allowing Unicode letters for internationalised domains, which
// nodemailer converts to punycode. One label (`localhost`) is allowed, for local setups.
const DOMAIN_LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;

/** Why `address` is not a plain `local@domain` address, or undefined when it is. */
export function addressProblem(address: string): string | undefined {
  if (LINE_BREAK.test(address)) return 'must not contain a line break';
  if (CONTROL_CHARS.test(address)) return 'must not contain control characters';
  // RFC 5321 section 4.5.3.1: 64 for the local part, 254 for a whole address in a path.
  if (address.length > 254) return 'is too long';
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return 'must look like name@example.com';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return 'has an invalid part before the @';
  if (!domain.split('.').every((label) => DOMAIN_LABEL.test(label))) return 'has an invalid domain';
  return undefined;
}

export function isValidEmailAddress(address: string): boolean {
  return addressProblem(address) === undefined;
}

/** Throws `EmailMessageError` unless `address` is one plain address. */
export function checkEmailAddress(address: string, field: EmailField = 'to'): void {
  const problem = addressProblem(address);
  if (problem) {
    throw new EmailMessageError(field, `The ${field} address ${problem}`);
  }
}

/** Throws `EmailMessageError` for a message that could inject headers or has no usable recipient. */
export function checkEmailMessage(message: EmailMessage): void {
  checkEmailAddress(message.to, 'to');
  if (LINE_BREAK.test(message.subject)) {
    throw new EmailMessageError('subject', 'The subject must be one line: it contains a line break');
  }
  if (CONTROL_CHARS.test(message.subject)) {
    throw new EmailMessageError('subject', 'The subject must not contain control characters');
  }
  if (message.subject.trim() === '') {
    throw new EmailMessageError('subject', 'The subject must not be empty');
  }
}

export interface SenderAddress {
  name?: string;
  address: string;
}

/**
 * Reads `EMAIL_FROM`: `no-reply@example.com` or `Tessera <no-reply@example.com>`. Undefined
 * when it is neither, so config.ts reports it at start instead of every send failing. The
 * name may not hold `<`, `>` or quotes, which keeps it free of anything needing escapes.
 */
export function parseSender(value: string): SenderAddress | undefined {
  if (CONTROL_CHARS.test(value)) return undefined;
  const named = /^([^<>"]*?)\s*<([^<>]+)>$/.exec(value.trim());
  const name = named ? named[1]!.trim() : undefined;
  const address = named ? named[2]! : value.trim();
  if (!isValidEmailAddress(address)) return undefined;
  return name ? { name, address } : { address };
}
