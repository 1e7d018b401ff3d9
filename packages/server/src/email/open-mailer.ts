/**
 * Chooses the Mailer from the config: SMTP when `SMTP_URL` is set (with failures kept in the
 * outbox), otherwise the outbox alone. Called once, by `openDeps`.
 */
import type { Config } from '../config.js';
import type { Mailer } from './mailer.js';
import { createOutboxMailer, EmailOutbox, type OutboxDeps } from './outbox.js';
import { createSmtpMailer } from './smtp-mailer.js';

export function createMailer(config: Pick<Config, 'smtpUrl' | 'emailFrom'>, deps: OutboxDeps): Mailer {
  const outbox = new EmailOutbox(deps);
  if (!config.smtpUrl) {
    return createOutboxMailer(outbox, config.emailFrom);
  }
  return createSmtpMailer({
    url: config.smtpUrl,
    from: config.emailFrom,
    keepFailed: (message, error) => outbox.add(message, config.emailFrom, 'smtp_failed', error),
  });
}
