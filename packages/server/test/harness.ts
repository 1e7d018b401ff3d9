/**
 * The test harness: a real server on a free loopback port, on a fresh database (in-memory
 * PGlite, or the PostgreSQL in TEST_DATABASE_URL when the suite runs against a server), with a
 * fake clock. Tests make their own projects through the factories, so they can run in
 * parallel and twice against the same PostgreSQL.
 */
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { openPgDatabase } from '../src/db/pg-database.js';
import { openPgliteDatabase } from '../src/db/pglite-database.js';
import type { AppDeps, Clock } from '../src/deps.js';
import { closeDeps, closeRedis, openDeps } from '../src/open-deps.js';

/**
 * A clock that starts at the real time and moves only when told; or, with `followRealTime`,
 * runs with the real time plus whatever `advance` added (for tests where a real client, such
 * as MedplumClient, compares token times with its own clock).
 */
export class FakeClock implements Clock {
  private current: number;
  private offset = 0;
  constructor(
    start = Date.now(),
    private readonly followRealTime = false,
  ) {
    this.current = start;
  }
  now(): Date {
    return new Date(this.followRealTime ? Date.now() + this.offset : this.current);
  }
  advance(ms: number): void {
    this.current += ms;
    this.offset += ms;
  }
}

export interface TestServer {
  baseUrl: string;
  fhirUrl: string;
  deps: AppDeps;
  clock: FakeClock;
  app: FastifyInstance;
  close(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Which database the suite runs on: PGlite unless TEST_DATABASE_URL names a PostgreSQL. */
export function testDatabaseUrl(): string | undefined {
  return process.env.TEST_DATABASE_URL || undefined;
}

export async function openTestDatabase(): Promise<Database> {
  const url = testDatabaseUrl();
  return url ? openPgDatabase(url, 5) : openPgliteDatabase();
}

/**
 * The Redis the suite's servers use, from TEST_REDIS_URL and TEST_REDIS_KEY_PREFIX (set by
 * `run-tests.js --pg`, with a prefix of the run's own); none in the PGlite run.
 */
export function testRedis(): { url: string; keyPrefix: string } | undefined {
  const url = process.env.TEST_REDIS_URL || undefined;
  return url ? { url, keyPrefix: process.env.TEST_REDIS_KEY_PREFIX || 'tessera-test:' } : undefined;
}

export interface StartOptions {
  env?: Record<string, string>;
  db?: Database;
  /** The clock runs with real time (advance still adds to it). */
  followRealTime?: boolean;
  /** Redis for the throttle (REDIS_URL, REDIS_KEY_PREFIX): default `testRedis()`; false for none. */
  redis?: { url: string; keyPrefix: string } | false;
  /** The built web app's folder (src/http/web-app.ts); default: packages/app/dist. */
  webAppDir?: string;
  /** The password hasher (default: argon2id). */
  hasher?: AppDeps['hasher'];
}

export async function startTestServer(options: StartOptions = {}): Promise<TestServer> {
  const port = await freePort();
  const redis = options.redis ?? testRedis();
  const redisEnv = redis ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.keyPrefix } : {};
  const config: Config = loadConfig({ PORT: String(port), BASE_URL: `http://127.0.0.1:${port}/`, LOG_LEVEL: 'silent', ...redisEnv, ...options.env });
  const clock = new FakeClock(Date.now(), options.followRealTime);
  const db = options.db ?? (await openTestDatabase());
  const deps = await openDeps(config, { db, clock, ...(options.hasher ? { hasher: options.hasher } : {}) });
  const app = await buildApp(deps, options.webAppDir !== undefined ? { webAppDir: options.webAppDir } : {});
  // Closing the app closes its Redis client too, also for tests that close only the app (a shared database).
  app.addHook('onClose', async () => closeRedis(deps.redis));
  await app.listen({ port, host: '127.0.0.1' });
  return {
    baseUrl: config.baseUrl,
    fhirUrl: `${config.baseUrl}fhir/R4/`,
    deps,
    clock,
    app,
    async close() {
      await app.close();
      await closeDeps(deps);
    },
  };
}
