/**
 * Opens everything AppDeps holds, in order: the database (migrated), the signing keys, the
 * mailer, and Redis when `REDIS_URL` is set; `closeDeps` closes them again.
 * Shared by `tessera serve`, the other `tessera` commands and the test harness.
 */
import { Redis } from 'ioredis';
import { argon2Hasher } from './auth/passwords.js';
import { openKeyStore } from './auth/key-store.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { migrate, type MigrationProgress } from './db/migrate.js';
import { openDatabase } from './db/open-database.js';
import { cryptoRandom, systemClock, type AppDeps } from './deps.js';
import { ResourceStore } from './fhir/resource-store.js';
import { createMailer } from './email/open-mailer.js';
import type { Mailer } from './email/mailer.js';
import { DatabaseThrottleStore } from './auth/throttle.js';
import { RedisThrottleStore } from './auth/throttle-redis.js';

/** How long a sign-in waits for Redis before it is refused with 503 (fail closed, throttle-redis.ts). */
const REDIS_COMMAND_TIMEOUT_MS = 2000;

export interface OpenDepsOptions {
  /** An already open database (tests); otherwise chosen from the config. */
  db?: Database;
  clock?: AppDeps['clock'];
  random?: AppDeps['random'];
  /** A mailer of the test's own (one that records what it was given); otherwise SMTP or the outbox, from the config. */
  mailer?: Mailer;
  /** The password hasher (default: argon2id); tests wrap it to count verifications. */
  hasher?: AppDeps['hasher'];
  onMigration?: MigrationProgress;
  /** Where Redis outages are reported (default: stderr). */
  log?: (line: string) => void;
}

export async function openDeps(config: Config, options: OpenDepsOptions = {}): Promise<AppDeps> {
  const db = options.db ?? (await openDatabase(config));
  try {
    await migrate(db, options.onMigration);
    const clock = options.clock ?? systemClock;
    const random = options.random ?? cryptoRandom;
    const keys = await openKeyStore(db, { clock, random });
    const mailer = options.mailer ?? createMailer(config, { db, clock, random });
    const log = options.log ?? ((line: string) => console.error(line));
    const redis = config.redisUrl ? openRedis(config.redisUrl, log) : undefined;
    const throttleStore = redis
      ? new RedisThrottleStore(redis, config.redisKeyPrefix, (err) => log(`Sign-in refused (503): Redis did not answer: ${(err as Error).message}`))
      : new DatabaseThrottleStore(db);
    return { config, db, clock, random, keys, hasher: options.hasher ?? argon2Hasher, store: new ResourceStore(db), mailer, redis, throttleStore };
  } catch (err) {
    if (!options.db) {
      await db.close().catch(() => undefined);
    }
    throw err;
  }
}

/**
 * A client for `REDIS_URL` that connects on first use, so the `tessera` commands that never
 * touch Redis (migrate, import, ...) neither need it nor keep a socket open. A command waits at
 * most REDIS_COMMAND_TIMEOUT_MS, and is sent again at most once after a reconnect; meanwhile
 * ioredis keeps reconnecting (backing off to 5 s). An outage is logged once, and its end.
 */
export function openRedis(url: string, log: (line: string) => void): Redis {
  const redis = new Redis(url, { lazyConnect: true, commandTimeout: REDIS_COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1, connectTimeout: 5000 });
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    // ioredis' messages name the host and port, never the password of the URL.
    log(`Redis (REDIS_URL) is not answering: ${err.message}; sign-ins answer 503 until it does`);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log('Redis (REDIS_URL) answers again');
  });
  return redis;
}

/** Closes a Redis client: QUIT when connected (pending replies arrive first), else just drops it. */
export async function closeRedis(redis: Redis | undefined): Promise<void> {
  if (!redis || redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  await redis.quit().catch(() => redis.disconnect());
}

/** Closes what openDeps opened: Redis, then the database (unless the caller keeps it, as a test sharing one does). */
export async function closeDeps(deps: AppDeps, options: { keepDatabase?: boolean } = {}): Promise<void> {
  await closeRedis(deps.redis);
  if (!options.keepDatabase) await deps.db.close();
}
