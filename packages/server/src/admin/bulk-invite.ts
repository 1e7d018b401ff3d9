/**
 * Bulk invite (issue 5, "Bulk and automation"): each row is one invite through the same
 * service as `POST /invite` (its own transaction, its own AuditEvent, its mail after its
 * commit), so a failing row never undoes the others. Idempotent by email: a person already a
 * member is reported `exists` and left as it was (with `upsert: true` in the row it is updated),
 * so a file can be run again after a partial failure. On PostgreSQL a few rows run at a time
 * (BulkOptions.concurrency); the rows of one person always run in file order.
 * Used by `POST /admin/projects/:projectId/invite/bulk` and `tessera invite`.
 */
import type { OperationOutcome, Project } from '@medplum/fhirtypes';
import type { Mailer } from '../email/mailer.js';
import { OutcomeError, outcome } from '../fhir/outcomes.js';
import type { BulkRow } from './bulk-invite-input.js';
import { parseInviteBody } from './invite-input.js';
import { sendInviteMail, type MailStatus } from './invite-mail.js';
import { inviteMember, type InviteDeps, type Inviter } from './invite-service.js';
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

async function inviteRow(deps: BulkDeps, inviter: Inviter, project: Stored<Project>, row: BulkRow): Promise<BulkRowResult> {
  const identity = rowIdentity(row.body);
  if (row.error !== undefined) {
    return { row: row.row, status: 'error', ...identity, outcome: outcome('invalid', `Row ${row.row} ${row.error}`) };
  }
  try {
    const input = parseInviteBody(row.body);
    const result = await inviteMember(deps, inviter, project.id, input, { reportExisting: true, project });
    const mail: MailStatus = result.mail ? await sendInviteMail(deps.mailer, result.mail, deps.clock.now()).catch(() => 'not-sent' as const) : 'none';
    return { row: row.row, status: result.outcome, ...identity, membership: `ProjectMembership/${result.membership.id}`, mail };
  } catch (err) {
    if (err instanceof OutcomeError && err.status < 500) {
      return { row: row.row, status: 'error', ...identity, outcome: err.outcome };
    }
    throw err;
  }
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

function analyzeDue(done: number): boolean {
  return ANALYZE_AT.includes(done) || (done > 0 && done % ANALYZE_EVERY === 0);
}

export interface BulkOptions {
  /**
   * Rows invited at the same time (each its own transaction). 1 on PGlite, whose one
   * connection runs one transaction at a time anyway; a few on PostgreSQL, where a row spends
   * most of its time waiting for the database. Rows of the same person stay serialised by the
   * invite's locks.
   */
  concurrency?: number;
  /** Called after each row (the CLI's progress bar), with the number of rows done. */
  onRow?: (done: number, result: BulkRowResult) => void;
}

/**
 * Row indexes grouped by person (email, else externalId), each group in file order: a group
 * runs on one worker, one row after the other, so two rows of one person apply in the order
 * the file gives them whatever the concurrency.
 */
function groupByPerson(rows: BulkRow[]): number[][] {
  const groups = new Map<string, number[]>();
  rows.forEach((row, index) => {
    const { email, externalId } = rowIdentity(row.body);
    const key = email ? `email:${email}` : externalId ? `external-id:${externalId}` : `row:${index}`;
    const group = groups.get(key);
    if (group) group.push(index);
    else groups.set(key, [index]);
  });
  return [...groups.values()];
}

/** How many rows at a time suit the database (BulkOptions.concurrency). */
export function bulkConcurrency(db: BulkDeps['db']): number {
  return db.kind === 'pg' ? 4 : 1;
}

/** Invites every row; results in row order. A server fault (5xx) stops the run. */
export async function bulkInvite(deps: BulkDeps, inviter: Inviter, project: Stored<Project>, rows: BulkRow[], options: BulkOptions = {}): Promise<BulkResult> {
  const results: BulkRowResult[] = new Array<BulkRowResult>(rows.length);
  const groups = groupByPerson(rows);
  let next = 0;
  let started = 0;
  let done = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < groups.length && !failed) {
      for (const index of groups[next++] as number[]) {
        if (analyzeDue(started++)) {
          await analyzeTables(deps.db, LOOKUP_TABLES);
        }
        const result = await inviteRow(deps, inviter, project, rows[index] as BulkRow).catch((err: unknown) => {
          failed = true;
          throw err;
        });
        results[index] = result;
        options.onRow?.(++done, result);
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 1, groups.length));
  await Promise.all(Array.from({ length: workers }, worker));
  const summary: BulkResult = { total: rows.length, created: 0, updated: 0, exists: 0, errors: 0, results };
  for (const result of results) {
    if (result.status === 'error') summary.errors++;
    else summary[result.status]++;
  }
  return summary;
}
