/**
 * `tessera outbox [--limit N] [--to ADDRESS] [--json]`: prints the mail kept in the database
 * (src/email/outbox.ts), newest first: when, to whom, the subject and the whole text, links
 * included, so an operator without SMTP can pass an invite or reset link on by hand.
 *
 * Works on PostgreSQL (also while servers run) and on the embedded PGlite database, which
 * only one process may open: like every command, it holds the DATA_DIR lock while it has the
 * files open, and refuses (DataDirInUseError) while `tessera serve` holds it.
 */
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { lockDataDir } from '../db/data-dir-lock.js';
import { migrate } from '../db/migrate.js';
import { openDatabase } from '../db/open-database.js';
import { cryptoRandom, systemClock } from '../deps.js';
import { EmailOutbox, type OutboxEntry } from '../email/outbox.js';

/** A mistake in how the command was called: print the message, exit 2. */
export class OutboxCommandError extends Error {
  override readonly name = 'OutboxCommandError';
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;

interface OutboxArgs {
  limit: number;
  to?: string;
  json: boolean;
}

function parseOutboxArgs(args: string[]): OutboxArgs {
  const { values } = parseArgs({ args, options: { limit: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } } });
  const limit = values.limit === undefined ? DEFAULT_LIMIT : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new OutboxCommandError(`--limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  return { limit, json: values.json ?? false, ...(values.to !== undefined ? { to: values.to } : {}) };
}

/**
 * Runs the command. `print` receives the output (one call per block of lines); tests pass
 * their own to read it.
 */
export async function outboxCommand(config: Config, args: string[], print: (text: string) => void = console.log): Promise<void> {
  const options = parseOutboxArgs(args);
  const unlock = config.databaseUrl ? () => undefined : lockDataDir(config.dataDir);
  try {
    const db = await openDatabase(config);
    try {
      // A fresh DATA_DIR has no email_outbox table yet; migrating is what every command does.
      await migrate(db);
      // Reading needs neither the clock nor ids, but EmailOutbox is one object for both directions.
      const outbox = new EmailOutbox({ db, clock: systemClock, random: cryptoRandom });
      const entries = await outbox.list({ limit: options.limit, ...(options.to !== undefined ? { to: options.to } : {}) });
      print(options.json ? JSON.stringify(entries, null, 2) : formatOutbox(entries, options));
    } finally {
      await db.close();
    }
  } finally {
    unlock();
  }
}

// Message text can carry what users typed (a project or a person's name). Terminal control
// sequences in it must not reach an operator's terminal, where they could rewrite what is
// shown; line breaks and tabs are kept.
function printable(value: string): string {
  return value.replace(/\r\n/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\uFFFD');
}

function formatEntry(entry: OutboxEntry): string {
  const lines = [
    `${entry.createdAt.toISOString()}  to ${printable(entry.to)}`,
    `From:    ${printable(entry.from)}`,
    `Subject: ${printable(entry.subject)}`,
  ];
  if (entry.projectId) lines.push(`Project: ${entry.projectId}`);
  if (entry.status === 'smtp_failed') lines.push(`Status:  the SMTP server did not take it: ${printable(entry.error ?? 'unknown error')}`);
  lines.push('', printable(entry.text).trimEnd());
  return lines.join('\n');
}

export function formatOutbox(entries: OutboxEntry[], options: Pick<OutboxArgs, 'limit' | 'to'>): string {
  const where = options.to ? ` to ${printable(options.to)}` : '';
  if (entries.length === 0) {
    return `No mail${where} in the outbox.`;
  }
  const more = entries.length === options.limit ? ` (the newest ${options.limit}; --limit N for more)` : '';
  const header = `${entries.length} message${entries.length === 1 ? '' : 's'}${where}, newest first${more}`;
  const rule = '-'.repeat(72);
  return [header, ...entries.map((e) => `${rule}\n${formatEntry(e)}`), rule].join('\n');
}
