/**
 * The `tessera` command. Sub-commands in a map, each a short function:
 *   serve                      start the server (same as `npm start`)
 *   migrate                    apply pending migrations and exit
 *   create-admin --email E     create the super admin (password from ADMIN_PASSWORD or stdin)
 *   token --email E [--project P]   print an access token for that user's membership
 *   outbox [--limit N] [--to E]     list mail kept in the database outbox (no SMTP_URL)
 *   import --project P <file|folder>...  load Bundles (.json) and NDJSON into a project
 *   members list|remove|restore --project P [id]  list, remove or restore a project's members
 *   invite --project P (--file rows.csv|.ndjson|.json | --email E --first-name F --last-name L)  invite people
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { DataDirInUseError, lockDataDir } from '../db/data-dir-lock.js';
import { closeDeps, openDeps } from '../open-deps.js';
import { ensureSuperAdmin } from '../admin/super-admin.js';
import { issueTokenForEmail, TokenIssueError } from '../auth/issue-token.js';
import { serve } from './serve.js';
import { outboxCommand, OutboxCommandError } from './outbox.js';
import { importCommand } from './import.js';
import { membersCommand } from './members.js';
import { inviteCommand } from './invite.js';

type Command = (config: Config, args: string[]) => Promise<void>;

class UsageError extends Error {}

/**
 * Opens the database for one command. On the embedded database it holds the data-dir lock
 * meanwhile, as `serve` does: a check alone would let a server (or a second command) open the
 * same files while this one has them open.
 */
async function withDeps<T>(config: Config, fn: (deps: Awaited<ReturnType<typeof openDeps>>) => Promise<T>): Promise<T> {
  const unlock = config.databaseUrl ? () => undefined : lockDataDir(config.dataDir);
  try {
    const deps = await openDeps(config, { onMigration: ({ migration, index, total }) => console.error(`Migrating [${index + 1}/${total}] ${migration.name}`) });
    try {
      return await fn(deps);
    } finally {
      await closeDeps(deps);
    }
  } finally {
    unlock();
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    process.stderr.write('Password: ');
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const commands: Record<string, Command> = {
  async serve(config) {
    const server = await serve(config);
    const stop = (): void => {
      server.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
  async migrate(config) {
    await withDeps(config, async () => console.log('Migrations are up to date.'));
  },
  async 'create-admin'(config, args) {
    const { values } = parseArgs({ args, options: { email: { type: 'string' }, 'first-name': { type: 'string' }, 'last-name': { type: 'string' } } });
    if (!values.email) throw new UsageError('create-admin needs --email');
    const password = config.adminPassword ?? (await readStdin());
    if (password.length < 8) throw new UsageError('The password must be at least 8 characters');
    await withDeps(config, async (deps) => {
      const result = await ensureSuperAdmin(deps, { email: values.email as string, password, firstName: values['first-name'], lastName: values['last-name'] });
      console.log(result.created ? `Created super admin ${values.email} in project ${result.projectId}` : `${values.email} already exists; nothing changed`);
    });
  },
  async token(config, args) {
    const { values } = parseArgs({ args, options: { email: { type: 'string' }, project: { type: 'string' }, json: { type: 'boolean' } } });
    if (!values.email) throw new UsageError('token needs --email');
    await withDeps(config, async (deps) => {
      const issued = await issueTokenForEmail(
        { ...deps, issuer: config.baseUrl, lifetimeSeconds: config.accessTokenLifetimeSeconds },
        values.email as string,
        values.project,
      );
      console.log(values.json ? JSON.stringify(issued) : issued.accessToken);
    });
  },
  outbox: outboxCommand,
  import: importCommand,
  members: membersCommand,
  invite: inviteCommand,
};

export async function runCli(argv: string[]): Promise<number> {
  const [name = 'serve', ...args] = argv;
  const command = commands[name];
  if (!command) {
    console.error(`Unknown command "${name}". Commands: ${Object.keys(commands).join(', ')}`);
    return 2;
  }
  try {
    await command(loadConfig(), args);
    return 0;
  } catch (err) {
    if (
      err instanceof ConfigError ||
      err instanceof UsageError ||
      err instanceof DataDirInUseError ||
      err instanceof TokenIssueError ||
      err instanceof OutboxCommandError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      console.error((err as Error).message);
      return 2;
    }
    throw err;
  }
}
