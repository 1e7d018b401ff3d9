/**
 * The two servers under test and what a measurement needs first: Tessera on the bench
 * database with its admin, an access token and seeded Patients; the floor on the same
 * database and project; and a check that both answer a read the same way.
 * Both listen on 127.0.0.1 only.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BenchDatabase } from './bench-database.js';
import { runToEnd, startChild, waitForOk, type Child } from './child-processes.js';
import { BENCH_PATIENT } from './scenarios.js';

export interface Paths {
  repoRoot: string;
  /** The server package to run (packages/server, or a scratch copy). */
  serverDir: string;
}

export interface RunningServer {
  child: Child;
  origin: string;
}

const ADMIN_EMAIL = 'bench-admin@example.com';
const ADMIN_PASSWORD = 'bench-password-not-secret';
const START_TIMEOUT_MS = 60_000;
const FHIR_JSON = 'application/fhir+json';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

/** The environment of the server and of `tessera token`: the same, so the token's issuer matches. */
function tesseraEnv(db: BenchDatabase, port: number): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    BASE_URL: `http://127.0.0.1:${port}/`,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    LOG_LEVEL: 'warn',
  };
}

export async function startTessera(paths: Paths, db: BenchDatabase): Promise<RunningServer> {
  const port = await freePort();
  const child = startChild('tessera', process.execPath, ['--import', 'tsx', join(paths.serverDir, 'src/main.ts')], {
    cwd: paths.repoRoot,
    env: tesseraEnv(db, port),
    echoStderr: true,
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitForOk(`${origin}/healthz`, child, START_TIMEOUT_MS);
  return { child, origin };
}

/** An access token for the admin, from `tessera token` run beside the server on the same database. */
export async function issueToken(paths: Paths, db: BenchDatabase, tessera: RunningServer): Promise<{ accessToken: string; projectId: string }> {
  const stdout = await runToEnd('tessera token', process.execPath, [join(paths.serverDir, 'bin/tessera.js'), 'token', '--email', ADMIN_EMAIL, '--json'], {
    cwd: paths.repoRoot,
    env: tesseraEnv(db, Number(new URL(tessera.origin).port)),
    timeoutMs: START_TIMEOUT_MS,
  });
  const issued = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { accessToken?: string; projectId?: string };
  if (!issued.accessToken || !issued.projectId) {
    throw new Error(`tessera token printed no token:\n${stdout}`);
  }
  return { accessToken: issued.accessToken, projectId: issued.projectId };
}

/** Creates `count` Patients through Tessera's API, five at a time; returns their ids. */
export async function seedPatients(tessera: RunningServer, token: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  const createOne = async (): Promise<void> => {
    const response = await fetch(`${tessera.origin}/fhir/R4/Patient`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': FHIR_JSON },
      body: JSON.stringify(BENCH_PATIENT),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json()) as { id?: string };
    if (response.status !== 201 || !body.id) {
      throw new Error(`Creating a Patient answered ${response.status}: ${JSON.stringify(body)}`);
    }
    ids.push(body.id);
  };
  await Promise.all(
    Array.from({ length: 5 }, async () => {
      while (ids.length < count) await createOne();
    }),
  );
  return ids.slice(0, count);
}

/** `searchesFile`: the searches the floor answers (floor.ts, `--searches`). */
export async function startFloor(paths: Paths, db: BenchDatabase, projectId: string, searchesFile?: string): Promise<RunningServer> {
  const port = await freePort();
  const args = ['--import', 'tsx', join(paths.repoRoot, 'bench/floor.ts'), '--database-url', db.url, '--port', String(port), '--project', projectId];
  if (searchesFile) args.push('--searches', searchesFile);
  const child = startChild('floor', process.execPath, args, { cwd: paths.repoRoot, env: {}, echoStderr: true });
  const origin = `http://127.0.0.1:${port}`;
  await waitForOk(`${origin}/healthz`, child, START_TIMEOUT_MS);
  return { child, origin };
}

/** Both servers must answer the same read with the same version before their speeds mean anything. */
export async function checkSameAnswer(servers: RunningServer[], token: string, id: string): Promise<void> {
  const versions = await Promise.all(
    servers.map(async ({ origin }) => {
      const response = await fetch(`${origin}/fhir/R4/Patient/${id}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
      const body = (await response.json()) as { id?: string; meta?: { versionId?: string } };
      if (response.status !== 200 || body.id !== id) {
        throw new Error(`${origin} answered ${response.status} for Patient/${id}: ${JSON.stringify(body)}`);
      }
      return body.meta?.versionId;
    }),
  );
  if (new Set(versions).size !== 1) {
    throw new Error(`The servers disagree on the version of Patient/${id}: ${versions.join(', ')}`);
  }
}
