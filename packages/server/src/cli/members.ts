/**
 * `tessera members list|remove|restore --project <id>`: the member administration of the
 * admin API for scripts, through the same services (src/admin/members*.ts), so the same rules
 * hold (the owner cannot be removed; restore brings the last version back). The operator of
 * the server's machine acts as the system: there is no token, and the audit log records
 * "tessera members (operator)" as the agent.
 *
 *   tessera members list --project P [--removed] [--profile-type T] [--json]
 *   tessera members remove --project P <membershipId>
 *   tessera members restore --project P <membershipId>
 *
 * Exit status: 0 done, 1 refused (unknown membership, the owner, not removed...), 2 usage.
 * Like every command it holds the DATA_DIR lock while the embedded database is open.
 */
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { lockDataDir } from '../db/data-dir-lock.js';
import { OutcomeError } from '../fhir/outcomes.js';
import { openDeps } from '../open-deps.js';
import { listMembers, parseMemberListQuery, type MemberSummary } from '../admin/member-list.js';
import { loadProject, removeMember, restoreMember, type AdminActor, type MemberDeps } from '../admin/members.js';

/** A mistake in how the command was called: print the message, exit 2. */
export class MembersCommandError extends Error {
  override readonly name = 'MembersCommandError';
}

const USAGE = 'Usage: tessera members list|remove|restore --project <id> [<membershipId>] (list: [--removed] [--profile-type T] [--json])';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OPERATOR: AdminActor = { who: { display: 'tessera members (operator)' } };

interface MembersArgs {
  action: 'list' | 'remove' | 'restore';
  projectId: string;
  membershipId?: string;
  removed: boolean;
  profileType?: string;
  json: boolean;
}

export function parseMembersArgs(args: string[]): MembersArgs {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { project: { type: 'string' }, removed: { type: 'boolean' }, 'profile-type': { type: 'string' }, json: { type: 'boolean' } },
  });
  const [action, membershipId, ...extra] = positionals;
  if (action !== 'list' && action !== 'remove' && action !== 'restore') throw new MembersCommandError(USAGE);
  if (!values.project || !UUID.test(values.project)) throw new MembersCommandError(`members ${action} needs --project <project id>`);
  if (action === 'list' ? membershipId !== undefined : membershipId === undefined || extra.length > 0) {
    throw new MembersCommandError(action === 'list' ? 'members list takes no membership id' : `members ${action} needs one membership id`);
  }
  return {
    action,
    projectId: values.project.toLowerCase(),
    ...(membershipId ? { membershipId } : {}),
    removed: values.removed ?? false,
    ...(values['profile-type'] ? { profileType: values['profile-type'] } : {}),
    json: values.json ?? false,
  };
}

/** Runs one action on open deps; returns the exit status. Tests call this with the server's deps. */
export interface MembersIo {
  print(text: string): void;
  /** Why an action was refused. */
  error(text: string): void;
}

const defaultIo: MembersIo = { print: (text) => console.log(text), error: (text) => console.error(text) };

export async function runMembersCommand(deps: MemberDeps, args: string[], io: MembersIo = defaultIo): Promise<number> {
  const print = io.print;
  const options = parseMembersArgs(args);
  try {
    await loadProject(deps, options.projectId);
    if (options.action === 'list') {
      print(await listAll(deps, options));
    } else if (options.action === 'remove') {
      const { revokedLogins } = await removeMember(deps, OPERATOR, options.projectId, options.membershipId as string);
      print(`Removed ProjectMembership/${options.membershipId} (${revokedLogins} sign-in${revokedLogins === 1 ? '' : 's'} revoked)`);
    } else {
      const restored = await restoreMember(deps, OPERATOR, options.projectId, options.membershipId as string);
      print(`Restored ProjectMembership/${restored.id} (${restored.profile?.reference ?? 'no profile'})`);
    }
    return 0;
  } catch (err) {
    if (err instanceof OutcomeError) {
      io.error(`Refused: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

async function listAll(deps: MemberDeps, options: MembersArgs): Promise<string> {
  const members: MemberSummary[] = [];
  let afterId: string | undefined;
  do {
    const query = parseMemberListQuery({
      _count: '1000',
      ...(options.removed ? { removed: 'true' } : {}),
      ...(options.profileType ? { profileType: options.profileType } : {}),
    });
    const page = await listMembers(deps, options.projectId, { ...query, ...(afterId ? { afterId } : {}) });
    members.push(...page.members);
    afterId = page.nextCursor ? page.members[page.members.length - 1]?.id : undefined;
  } while (afterId);
  return options.json ? JSON.stringify(members, null, 2) : formatMembers(members, options.removed);
}

// Names and emails are what users typed: keep terminal control sequences off the operator's terminal.
function printable(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD');
}

export function formatMembers(members: MemberSummary[], removed: boolean): string {
  if (members.length === 0) {
    return removed ? 'No removed members.' : 'No members.';
  }
  const lines = members.map((m) => {
    const flags = [m.owner ? 'owner' : '', m.admin ? 'admin' : '', m.active ? '' : 'inactive', m.inviteState === 'pending' ? 'invite pending' : '', m.removed ? 'removed' : '']
      .filter(Boolean)
      .join(', ');
    const who = printable(m.profile.display ?? '');
    return `${m.id}  ${printable(m.profile.reference ?? '')}  ${who}${m.email ? ` <${printable(m.email)}>` : ''}${flags ? `  [${flags}]` : ''}`;
  });
  return [`${members.length} ${removed ? 'removed ' : ''}member${members.length === 1 ? '' : 's'}`, ...lines].join('\n');
}

/** The command as `tessera` runs it: opens the database, runs, sets the exit status. */
export async function membersCommand(config: Config, args: string[]): Promise<void> {
  let code: number;
  try {
    parseMembersArgs(args);
    const unlock = config.databaseUrl ? () => undefined : lockDataDir(config.dataDir);
    try {
      const deps = await openDeps(config, { onMigration: ({ migration, index, total }) => console.error(`Migrating [${index + 1}/${total}] ${migration.name}`) });
      try {
        code = await runMembersCommand(deps, args);
      } finally {
        await deps.db.close();
      }
    } finally {
      unlock();
    }
  } catch (err) {
    if (!(err instanceof MembersCommandError) && !(err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      throw err;
    }
    console.error((err as Error).message);
    code = 2;
  }
  if (code !== 0) {
    process.exitCode = code;
  }
}
