/**
 * AppDeps: everything with a side effect or a source of non-determinism, built once at start
 * and passed in. Features take only the part they use (`Pick<AppDeps, 'db' | 'clock'>`), and
 * tests build their own (a fresh database, a fake clock).
 */
import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import type { KeyStore } from './auth/key-store.js';
import type { PasswordHasher } from './auth/passwords.js';
import type { ResourceStore } from './fhir/resource-store.js';
import type { Mailer } from './email/mailer.js';
import type { Redis } from 'ioredis';
import type { ThrottleStore } from './auth/throttle.js';

export interface Clock {
  now(): Date;
}

export interface Random {
  uuid(): string;
}

export const systemClock: Clock = { now: () => new Date() };
export const cryptoRandom: Random = { uuid: () => randomUUID() };

export interface AppDeps {
  config: Config;
  db: Database;
  clock: Clock;
  random: Random;
  keys: KeyStore;
  hasher: PasswordHasher;
  store: ResourceStore;
  /** SMTP or the database outbox (src/email); `send` resolves even when the mail does not go out. */
  mailer: Mailer;
  /** The connection to `REDIS_URL`, when set (connects on first use; `closeDeps` closes it). */
  redis?: Redis | undefined;
  /** Where the sign-in throttle counts: Redis when `REDIS_URL` is set, else the database. */
  throttleStore: ThrottleStore;
}
