/**
 * `tessera invite`: invites people into a project for scripts, through the same services as
 * the admin API (src/admin/invite-service.ts, bulk-invite.ts), so the same rules hold:
 *
 *   tessera invite --project P --file rows.csv|rows.ndjson|rows.json [--json]
 *   tessera invite --project P --email E --first-name F --last-name L [--resource-type T]
 *                  [--external-id X] [--admin] [--upsert] [--no-mail] [--json]
 *
 * A file is read as bulk-invite-input.ts describes (CSV with a header row, NDJSON, or a JSON
 * array); rows already members are reported `exists`, so a file can be run again. Progress
 * goes to stderr (import-progress.ts), the summary and each failed row to stdout (`--json`:
 * the full per-row results). The operator acts as the system: no token, and the audit log
 * records "tessera invite (operator)" as the agent. Exit status: 0 when every row was
 * invited or already there, 1 when a row failed, 2 for a usage error.
 * Like every command it holds the DATA_DIR lock while the embedded database is open.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import type { RequestContext } from '../auth/request-context.js';
import { lockDataDir } from '../db/data-dir-lock.js';
import { OutcomeError } from '../fhir/outcomes.js';
import { openDeps } from '../open-deps.js';
import { bulkConcurrency, bulkInvite, type BulkResult } from '../admin/bulk-invite.js';
import { formatOfFileName, readBulkRows, type BulkRow } from '../admin/bulk-invite-input.js';
import { requireProject } from '../admin/invite-service.js';
import { ProgressReporter, type ProgressStream } from './import-progress.js';

/** A mistake in how the command was called: print the message, exit 2. */
export class InviteCommandError extends Error {
  override readonly name = 'InviteCommandError';
}

export interface InviteIo {
  print(text: string): void;
  progress: ProgressStream;
}

const defaultIo: InviteIo = { print: (text) => console.log(text), progress: process.stderr };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const USAGE =
  'Usage: tessera invite --project <id> (--file rows.csv|.ndjson|.json | --email E --first-name F --last-name L [--resource-type Practitioner|Patient|RelatedPerson] [--external-id X] [--admin] [--upsert] [--no-mail]) [--json]';

const OPTIONS = {
  project: { type: 'string' },
  file: { type: 'string' },
  email: { type: 'string' },
  'external-id': { type: 'string' },
  'first-name': { type: 'string' },
  'last-name': { type: 'string' },
  'resource-type': { type: 'string' },
  admin: { type: 'boolean' },
  upsert: { type: 'boolean' },
  'no-mail': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/** The operator as an admin of the project, with no user behind it. */
export function operatorContext(projectId: string): RequestContext {
  const operator = { display: 'tessera invite (operator)' };
  return {
    projectId,
    membership: { resourceType: 'ProjectMembership', id: 'tessera-invite', project: { reference: `Project/${projectId}` }, user: operator, profile: operator },
    login: { resourceType: 'Login', id: 'tessera-invite' } as RequestContext['login'],
    profile: operator,
    author: operator,
    admin: true,
    superAdmin: false,
  };
}

/** The rows the arguments describe: the file's, or the one person named by the flags. */
export function rowsOfArgs(values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values']): BulkRow[] {
  if (values.file) {
    if (values.email || values['first-name'] || values['last-name'] || values['external-id']) throw new InviteCommandError('Give either --file or one person (--email ...), not both');
    const format = formatOfFileName(values.file);
    if (!format) throw new InviteCommandError(`${values.file}: the file must end in .csv, .ndjson or .json`);
    let text: string;
    try {
      text = readFileSync(values.file, 'utf8');
    } catch (err) {
      throw new InviteCommandError(`Cannot read ${values.file}: ${(err as Error).message}`);
    }
    try {
      return readBulkRows(format, format === 'json' ? JSON.parse(text) : text);
    } catch (err) {
      throw new InviteCommandError(`${values.file}: ${(err as Error).message}`);
    }
  }
  if (!values.email && !values['external-id']) throw new InviteCommandError(USAGE);
  const body = {
    resourceType: values['resource-type'] ?? 'Practitioner',
    firstName: values['first-name'],
    lastName: values['last-name'],
    ...(values.email ? { email: values.email } : {}),
    ...(values['external-id'] ? { externalId: values['external-id'] } : {}),
    ...(values.admin ? { admin: true } : {}),
    ...(values.upsert ? { upsert: true } : {}),
    ...(values['no-mail'] ? { sendEmail: false } : {}),
  };
  return [{ row: 1, body }];
}

export function formatSummary(result: BulkResult): string {
  const lines = [`${result.total} rows: ${result.created} created, ${result.updated} updated, ${result.exists} already members, ${result.errors} failed`];
  for (const r of result.results) {
    if (r.status !== 'error') continue;
    const who = r.email ?? r.externalId ?? '';
    const issues = (r.outcome?.issue ?? []).map((i) => `${i.details?.text ?? i.code}${i.expression ? ` [${i.expression.join(', ')}]` : ''}`).join('; ');
    lines.push(`row ${r.row}${who ? ` (${who})` : ''}: ${issues}`);
  }
  return lines.join('\n');
}

/** Runs the command and returns the exit status (tests call this with their own `io`). */
export async function runInviteCommand(config: Config, args: string[], io: InviteIo = defaultIo): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS });
  if (!values.project || !UUID.test(values.project)) throw new InviteCommandError(`invite needs --project <project id> (a uuid)\n${USAGE}`);
  const projectId = values.project.toLowerCase();
  const rows = rowsOfArgs(values);
  const unlock = config.databaseUrl ? () => undefined : lockDataDir(config.dataDir);
  try {
    const deps = await openDeps(config, { onMigration: ({ migration, index, total }) => io.progress.write(`Migrating [${index + 1}/${total}] ${migration.name}\n`) });
    try {
      const adminDeps = { ...deps, baseUrl: config.baseUrl, inviteLinkLifetimeSeconds: config.inviteLinkLifetimeSeconds };
      let project;
      try {
        project = await requireProject(adminDeps, projectId);
      } catch (err) {
        if (err instanceof OutcomeError) throw new InviteCommandError(`No project ${projectId} in this database`);
        throw err;
      }
      // One "file" of `rows.length` units: the bar counts rows, its rate is rows per second.
      const reporter = new ProgressReporter(io.progress, 1, rows.length);
      let errors = 0;
      const result = await bulkInvite(adminDeps, { ctx: operatorContext(projectId) }, project, rows, {
        concurrency: bulkConcurrency(deps.db),
        onRow: (done, row) => {
          if (row.status === 'error') errors++;
          reporter.update({ filesDone: done === rows.length ? 1 : 0, bytesDone: done, resources: done, errors });
        },
      });
      reporter.finish({ filesDone: 1, bytesDone: rows.length, resources: rows.length, errors });
      io.print(values.json ? JSON.stringify(result, null, 2) : formatSummary(result));
      return result.errors > 0 ? 1 : 0;
    } finally {
      await deps.db.close();
    }
  } finally {
    unlock();
  }
}

/** The command as `tessera` runs it. */
export async function inviteCommand(config: Config, args: string[]): Promise<void> {
  let code: number;
  try {
    code = await runInviteCommand(config, args);
  } catch (err) {
    if (!(err instanceof InviteCommandError) && !(err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw err;
    console.error((err as Error).message);
    code = 2;
  }
  if (code !== 0) process.exitCode = code;
}
