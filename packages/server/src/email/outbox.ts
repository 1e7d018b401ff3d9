/**
 * The email outbox: mail kept in the `email_outbox` table (migration 0003) instead of, or
 * after failing, going through SMTP. With no `SMTP_URL` this is how the embedded default
 * "sends" invites and reset links: an operator reads them with `tessera outbox`.
 *
 * Rows are only ever added: nothing here updates or deletes one. A retention policy, if
 * one is wanted, is an operator's decision, not a side effect of sending.
 */
import type { Queryable } from '../db/database.js';
import type { Clock, Random } from '../deps.js';
import { checkEmailMessage, type EmailMessage, type Mailer } from './mailer.js';

export type OutboxStatus = 'stored' | 'smtp_failed';

export interface OutboxEntry {
  id: string;
  createdAt: Date;
  projectId?: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
  status: OutboxStatus;
  /** Why SMTP did not take it (status `smtp_failed`). */
  error?: string;
}

export interface OutboxQuery {
  /** At most this many, newest first. */
  limit: number;
  /** Only mail to this address (case-insensitive). */
  to?: string;
}

interface OutboxRow {
  id: string;
  created_at: Date;
  project_id: string | null;
  sender: string;
  recipient: string;
  subject: string;
  body_text: string;
  body_html: string | null;
  status: OutboxStatus;
  error: string | null;
}

export interface OutboxDeps {
  /** The plain database handle (not a transaction): see "Contract for callers" in mailer.ts. */
  db: Queryable;
  clock: Clock;
  random: Random;
}

export class EmailOutbox {
  constructor(private readonly deps: OutboxDeps) {}

  /** Stores one message; returns its id. Rejects when the database does. */
  async add(message: EmailMessage, from: string, status: OutboxStatus, error?: string): Promise<string> {
    const id = this.deps.random.uuid();
    await this.deps.db.query(
      `INSERT INTO email_outbox (id, created_at, project_id, sender, recipient, subject, body_text, body_html, status, error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [id, this.deps.clock.now(), message.projectId ?? null, from, message.to, message.subject, message.text, message.html ?? null, status, error ?? null],
    );
    return id;
  }

  async list(query: OutboxQuery): Promise<OutboxEntry[]> {
    const params: unknown[] = [query.limit];
    let where = '';
    if (query.to !== undefined) {
      params.push(query.to);
      where = 'WHERE lower(recipient) = lower($2)';
    }
    const { rows } = await this.deps.db.query<OutboxRow>(
      `SELECT id, created_at, project_id, sender, recipient, subject, body_text, body_html, status, error
         FROM email_outbox ${where}
        ORDER BY created_at DESC, seq DESC
        LIMIT $1`,
      params,
    );
    return rows.map(toEntry);
  }
}

function toEntry(row: OutboxRow): OutboxEntry {
  return {
    id: row.id,
    createdAt: row.created_at,
    ...(row.project_id ? { projectId: row.project_id } : {}),
    from: row.sender,
    to: row.recipient,
    subject: row.subject,
    text: row.body_text,
    ...(row.body_html !== null ? { html: row.body_html } : {}),
    status: row.status,
    ...(row.error !== null ? { error: row.error } : {}),
  };
}

/**
 * The Mailer used when no SMTP server is configured. `delivered` stays false (nobody got an
 * email) but there is no `error`: keeping the message is what this configuration asks for,
 * and `outboxId` says where it is.
 */
export function createOutboxMailer(outbox: EmailOutbox, from: string): Mailer {
  return {
    async send(message) {
      checkEmailMessage(message);
      try {
        return { delivered: false, outboxId: await outbox.add(message, from, 'stored') };
      } catch (err) {
        return { delivered: false, error: `The message could not be stored in the outbox: ${(err as Error).message}` };
      }
    },
  };
}
