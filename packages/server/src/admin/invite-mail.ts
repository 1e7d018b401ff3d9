/**
 * The invite's mail, sent after the invite's transaction has committed (mailer.ts, "Contract
 * for callers"): a new user, or one who has never set a password, gets a set-password link; a
 * user who already signs in gets a notice that the project is now theirs to choose. A mail that
 * does not go out never undoes the invite: the outcome is reported to the admin instead
 * (`X-Tessera-Email`), who can resend.
 */
import type { Mailer } from '../email/mailer.js';

export interface InviteMail {
  to: string;
  projectId: string;
  projectName: string;
  firstName: string;
  /** The set-password link, for a user without a password; absent: the "you were added" notice. */
  setPasswordUrl?: string;
  expiresAt?: Date;
  /** Where to sign in (the server's base URL). */
  baseUrl: string;
}

/**
 * What became of the mail, sent to the admin as the `X-Tessera-Email` header:
 * `sent` (a mail server took it), `stored` (no SMTP_URL: kept in the outbox, see
 * `tessera outbox`), `not-sent` (the mail server failed; it is kept in the outbox when the
 * outbox could be written), `none` (no mail was asked for, or the person has no email).
 */
export type MailStatus = 'sent' | 'stored' | 'not-sent' | 'none';

export const MAIL_STATUS_HEADER = 'x-tessera-email';

function daysUntil(expiresAt: Date, now: Date): number {
  return Math.max(1, Math.round((expiresAt.getTime() - now.getTime()) / 86_400_000));
}

export function inviteMailText(mail: InviteMail, now: Date): { subject: string; text: string } {
  if (mail.setPasswordUrl) {
    const days = mail.expiresAt ? daysUntil(mail.expiresAt, now) : undefined;
    return {
      subject: `You are invited to ${mail.projectName} on Tessera`,
      text: [
        `Hello ${mail.firstName},`,
        '',
        `You were invited to ${mail.projectName}.`,
        '',
        `To create your account, choose a password with this link${days ? ` within ${days} day${days === 1 ? '' : 's'}` : ''}. It works once:`,
        '',
        mail.setPasswordUrl,
        '',
        'If you did not expect this invitation, ignore this mail.',
      ].join('\n'),
    };
  }
  return {
    subject: `Tessera: you were added to ${mail.projectName}`,
    text: [
      `Hello ${mail.firstName},`,
      '',
      `You were added to ${mail.projectName}. The next time you sign in, you will see it as an option.`,
      '',
      `Sign in here: ${mail.baseUrl}`,
    ].join('\n'),
  };
}

/** Sends the mail; never rejects for a delivery problem (the Mailer resolves those), only for a malformed message. */
export async function sendInviteMail(mailer: Mailer, mail: InviteMail, now: Date): Promise<MailStatus> {
  // A project name is the admin's text: keep it to one line, as a subject must be.
  const safe = { ...mail, projectName: mail.projectName.replace(/[\r\n\u0000-\u001f\u007f]+/g, ' ').trim() || 'a project' };
  const { subject, text } = inviteMailText(safe, now);
  const result = await mailer.send({ to: mail.to, subject, text, projectId: mail.projectId });
  if (result.delivered) return 'sent';
  return result.error ? 'not-sent' : 'stored';
}
