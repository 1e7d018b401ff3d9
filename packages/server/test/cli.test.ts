/**
 * The `tessera` command as an operator runs it: a real child process (`node bin/tessera.js`).
 * In the PGlite run, on the embedded database in a temporary DATA_DIR, where only one process
 * may open the files at a time; in the PostgreSQL run, with DATABASE_URL naming a database of
 * its own (fresh, so `migrate` has work to do), where commands run beside a server.
 * Each embedded-database open costs 1-3 s, so the steps share one database and run in order.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { serve } from '../src/cli/serve.js';
import { loadConfig } from '../src/config.js';
import { listMigrations } from '../src/db/migrate.js';
import { createFreshPgDatabase, type FreshPgDatabase } from './fresh-pg-database.js';
import { freePort, testDatabaseUrl } from './harness.js';

const bin = fileURLToPath(new URL('../bin/tessera.js', import.meta.url));
/** Long enough for a slow, shared machine; short enough that a hang fails the test, not the run. */
const COMMAND_TIMEOUT_MS = 120_000; // generous: a loaded 2-core machine starts PGlite slowly

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function childEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...extra };
  for (const name of ['DATABASE_URL', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'BASE_URL', 'TESSERA_PASSWORD']) {
    if (!(name in extra)) delete env[name];
  }
  return env;
}

function start(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [bin, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
}

function finish(child: ChildProcess, timeoutMs = COMMAND_TIMEOUT_MS): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tessera ${child.spawnargs.slice(2).join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs one command to its end, with `input` on stdin. */
function tessera(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<Outcome> {
  const child = start(args, env);
  child.stdin?.end(input);
  return finish(child);
}

/** Resolves when the child prints a line matching `pattern` on stdout. */
function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = COMMAND_TIMEOUT_MS): Promise<void> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} in ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing ${pattern}:\n${seen}`));
    });
  });
}

function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

describe('tessera command', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let server: ChildProcess | undefined;
  let token = '';

  let port: number;
  const onPostgres = testDatabaseUrl() !== undefined;
  let database: FreshPgDatabase | undefined;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-cli-'));
    port = await freePort();
    database = onPostgres ? await createFreshPgDatabase('cli') : undefined;
    // One BASE_URL for every command: it is the issuer of the tokens `token` prints.
    env = childEnv(dataDir, {
      PORT: String(port),
      HOST: '127.0.0.1',
      BASE_URL: `http://127.0.0.1:${port}/`,
      ...(database ? { DATABASE_URL: database.url } : {}),
    });
  });

  after(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGKILL');
    }
    await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
  });

  it('refuses an unknown command and bad configuration with exit code 2', async () => {
    const [unknown, badConfig] = await Promise.all([tessera(['frobnicate'], env), tessera(['migrate'], childEnv(dataDir, { PORT: 'eighty' }))]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown command "frobnicate"/);
    assert.equal(badConfig.code, 2);
    assert.match(badConfig.stderr, /Invalid configuration[\s\S]*PORT/);
  });

  it('migrate prints each migration it applies, then that the schema is up to date', async () => {
    const result = await tessera(['migrate'], env);
    assert.equal(result.code, 0, result.stderr);
    const migrations = listMigrations();
    for (const [i, m] of migrations.entries()) {
      assert.match(result.stderr, new RegExp(`Migrating \\[${i + 1}/${migrations.length}\\] ${m.name}`));
    }
    assert.match(result.stdout, /Migrations are up to date/);
  });

  it('create-admin reads the password from stdin; token then prints a JWT for that admin', async () => {
    const created = await tessera(['create-admin', '--email', 'Operator@Example.com'], env, 'a long enough password\n');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /Created super admin/);

    const issued = await tessera(['token', '--email', 'operator@example.com'], env);
    assert.equal(issued.code, 0, issued.stderr);
    token = issued.stdout.trim();
    assert.match(token, JWT);
    assert.equal(typeof jwtPayload(token).project_id, 'string');
  });

  it('token for an unknown email exits 2 and says why', async () => {
    const result = await tessera(['token', '--email', 'nobody@example.com'], env);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /No server-wide user has the email nobody@example\.com/);
  });

  it(`serve answers /healthz, ${onPostgres ? 'lets commands run beside it' : 'keeps other commands off its data dir'}, and stops on SIGTERM`, async () => {
    server = start(['serve'], env);
    server.stdin?.end();
    const exited = finish(server);
    await waitForLine(server, /Tessera is ready/);

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { database: string }).database, onPostgres ? 'pg' : 'pglite');
    // The token the command printed earlier is one this server accepts.
    const project = await fetch(`http://127.0.0.1:${port}/fhir/R4/Project/${String(jwtPayload(token).project_id)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(project.status, 200);

    if (onPostgres) {
      // PostgreSQL is shared by design: no lock, the command works while the server runs.
      const beside = await tessera(['token', '--email', 'operator@example.com'], env);
      assert.equal(beside.code, 0, beside.stderr);
      assert.match(beside.stdout.trim(), JWT);
    } else {
      const [refused, secondServer] = await Promise.all([tessera(['token', '--email', 'operator@example.com'], env), tessera(['serve'], env)]);
      for (const result of [refused, secondServer]) {
        assert.equal(result.code, 2, result.stderr);
        assert.ok(result.stderr.includes(`${dataDir} is in use`), result.stderr);
        assert.match(result.stderr, new RegExp(`\\(pid ${server.pid}\\)`));
      }
    }

    server.kill('SIGTERM');
    const stopped = await exited;
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(existsSync(join(dataDir, 'tessera.pid')), false, 'the data dir lock is released');
  });
});

describe('serve, in process', { skip: testDatabaseUrl() ? 'PostgreSQL run: the data-dir lock is the embedded database’s' : false }, () => {
  it('gives the data dir back when it cannot start (port taken)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tessera-serve-'));
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const config = loadConfig({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
      await assert.rejects(serve(config, () => undefined), { code: 'EADDRINUSE' });
      assert.equal(existsSync(join(dataDir, 'tessera.pid')), false);
    } finally {
      taken.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
