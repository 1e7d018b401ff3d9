/**
 * Bulk invite (issue 5, "Bulk and automation"): each row is one invite through the same
 * service as `POST /invite`, with the same checks, resources, index rows, history and
 * AuditEvent, and its mail after its commit. Rows run in chunks of CHUNK_ROWS, each chunk in
 * one transaction (bulk-invite-chunk.ts: a failing row writes nothing and never undoes the
 * others). Each person (email, externalId) is in a chunk at most once, and their rows apply in
 * file order. Idempotent by email: a person already a member is reported `exists` and left as
 * it was (with `upsert: true` in the row it is updated), so a file can be run again after a
 * partial failure. Used by `POST /admin/projects/:projectId/invite/bulk` and `tessera invite`.
 */
import type { OperationOutcome, Project } from '@medplum/fhirtypes';
import type { Mailer } from '../email/mailer.js';
import { OutcomeError, outcome } from '../fhir/outcomes.js';
import type { BulkRow } from './bulk-invite-input.js';
import { inviteChunk } from './bulk-invite-chunk.js';
import { parseInviteBody, type InviteInput } from './invite-input.js';
import { sendInviteMail, type MailStatus } from './invite-mail.js';
import type { InviteDeps, Inviter } from './invite-service.js';
import { analyzeTables } from '../db/analyze.js';

export interface BulkRowResult {
  row: number;
  status: 'created' | 'updated' | 'exists' | 'error';
  email?: string;
  externalId?: string;
  /** `ProjectMembership/<id>` made, updated or found. */
  membership?: string;
  mail?: MailStatus;
  /** Why the row failed: an OperationOutcome whose issues name the field, as `POST /invite` answers. */
  outcome?: OperationOutcome;
}

export interface BulkResult {
  total: number;
  created: number;
  updated: number;
  exists: number;
  errors: number;
  results: BulkRowResult[];
}

export type BulkDeps = InviteDeps & { mailer: Mailer };
type Stored<T> = T & { id: string };

function rowIdentity(body: unknown): Pick<BulkRowResult, 'email' | 'externalId'> {
  const b = (body ?? {}) as { email?: unknown; externalId?: unknown };
  return {
    ...(typeof b.email === 'string' ? { email: b.email.trim().toLowerCase().slice(0, 254) } : {}),
    ...(typeof b.externalId === 'string' ? { externalId: b.externalId.slice(0, 256) } : {}),
  };
}

/**
 * The invite's lookups (invite-lookups.ts) are index scans only when the planner has statistics
 * on the tables; without them (PGlite has no autovacuum; a PostgreSQL may have it off, or not
 * have run yet) it reads a project's whole index range for each row, and a large run slows
 * down row after row. So a large run refreshes them as it grows: after these many rows, then
 * every ANALYZE_EVERY. ANALYZE samples a bounded number of rows: well under a second even on
 * large tables.
 */
const ANALYZE_AT = [500, 2000];
const ANALYZE_EVERY = 5000;
const LOOKUP_TABLES = ['resource', 'search_string', 'search_token', 'search_reference'] as const;

/** Whether a chunk taking the rows started from `before` to `after` crosses one of the points above. */
function analyzeDue(before: number, after: number): boolean {
  return ANALYZE_AT.some((at) => before < at && after >= at) || Math.floor(after / ANALYZE_EVERY) > Math.floor(before / ANALYZE_EVERY);
}

export interface BulkOptions {
  /** Chunks in flight at once (bulkConcurrency): 1 on PGlite, whose one connection runs one transaction at a time anyway. */
  concurrency?: number;
  /** Called after each row (the CLI's progress bar), with the number of rows done. */
  onRow?: (done: number, result: BulkRowResult) => void;
}

/** Rows per transaction: enough that the per-statement and per-commit costs fade, few enough that a chunk that must run again row by row costs little. */
const CHUNK_ROWS = 200;

interface Parsed {
  index: number;
  input: InviteInput;
  /** The person, for keeping their rows apart and in order: `email:…`, `external-id:…`. */
  keys: string[];
}

/**
 * The next chunk: rows in file order, at most CHUNK_ROWS, no person twice, and no person of a
 * chunk still running (`busy`). A row whose person is taken waits for a later chunk, and so do
 * that person's later rows, so each person's rows apply in the order the file gives them.
 */
function takeChunk(queue: Parsed[], busy: ReadonlySet<string>): { chunk: Parsed[]; rest: Parsed[] } {
  const chunk: Parsed[] = [];
  const rest: Parsed[] = [];
  const taken = new Set<string>();
  const waiting = new Set<string>();
  for (const parsed of queue) {
    const free = chunk.length < CHUNK_ROWS && parsed.keys.every((k) => !taken.has(k) && !waiting.has(k) && !busy.has(k));
    for (const key of parsed.keys) (free ? taken : waiting).add(key);
    (free ? chunk : rest).push(parsed);
  }
  return { chunk, rest };
}

function readRow(row: BulkRow, index: number): Parsed | BulkRowResult {
  const identity = rowIdentity(row.body);
  if (row.error !== undefined) {
    return { row: row.row, status: 'error', ...identity, outcome: outcome('invalid', `Row ${row.row} ${row.error}`) };
  }
  try {
    const input = parseInviteBody(row.body);
    const keys = [...(input.email ? [`email:${input.email}`] : []), ...(input.externalId ? [`external-id:${input.externalId}`] : [])];
    return { index, input, keys };
  } catch (err) {
    if (err instanceof OutcomeError && err.status < 500) return { row: row.row, status: 'error', ...identity, outcome: err.outcome };
    throw err;
  }
}

/** How many chunks at a time suit the database (BulkOptions.concurrency). */
export function bulkConcurrency(db: BulkDeps['db']): number {
  return db.kind === 'pg' ? 2 : 1;
}

/** Invites every row; results in row order. A server fault (5xx) stops the run. */
export async function bulkInvite(deps: BulkDeps, inviter: Inviter, project: Stored<Project>, rows: BulkRow[], options: BulkOptions = {}): Promise<BulkResult> {
  const results: BulkRowResult[] = new Array<BulkRowResult>(rows.length);
  let done = 0;
  const report = (index: number, result: BulkRowResult): void => {
    results[index] = result;
    options.onRow?.(++done, result);
  };
  let queue: Parsed[] = [];
  rows.forEach((row, index) => {
    const read = readRow(row, index);
    if ('input' in read) queue.push(read);
    else report(index, read);
  });

  const runChunk = async (chunk: Parsed[]): Promise<void> => {
    const outcomes = await inviteChunk(deps, inviter, project, chunk.map((p) => p.input));
    for (const [i, parsed] of chunk.entries()) {
      const row = rows[parsed.index] as BulkRow;
      const identity = rowIdentity(row.body);
      const outcome = outcomes[i] as (typeof outcomes)[number];
      if ('error' in outcome) {
        report(parsed.index, { row: row.row, status: 'error', ...identity, outcome: outcome.error.outcome });
        continue;
      }
      const { result } = outcome;
      const mail: MailStatus = result.mail ? await sendInviteMail(deps.mailer, result.mail, deps.clock.now()).catch(() => 'not-sent' as const) : 'none';
      report(parsed.index, { row: row.row, status: result.outcome, ...identity, membership: `ProjectMembership/${result.membership.id}`, mail });
    }
  };

  // Workers take chunks while rows remain; one whose every queued row waits for a person in a
  // running chunk sleeps until a chunk ends.
  const busy = new Set<string>();
  let sleepers: Array<() => void> = [];
  const wakeAll = (): void => {
    for (const wake of sleepers) wake();
    sleepers = [];
  };
  let started = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && queue.length > 0) {
      const { chunk, rest } = takeChunk(queue, busy);
      if (chunk.length === 0) {
        await new Promise<void>((wake) => sleepers.push(wake));
        continue;
      }
      queue = rest;
      const keys = chunk.flatMap((p) => p.keys);
      for (const key of keys) busy.add(key);
      try {
        if (analyzeDue(started, (started += chunk.length))) await analyzeTables(deps.db, LOOKUP_TABLES);
        await runChunk(chunk);
      } catch (err) {
        failed = true;
        throw err;
      } finally {
        for (const key of keys) busy.delete(key);
        wakeAll();
      }
    }
  };
  const workers = Math.max(1, options.concurrency ?? 1);
  await Promise.all(Array.from({ length: workers }, worker));
  const summary: BulkResult = { total: rows.length, created: 0, updated: 0, exists: 0, errors: 0, results };
  for (const result of results) {
    if (result.status === 'error') summary.errors++;
    else summary[result.status]++;
  }
  return summary;
}
