/**
 * Opens everything AppDeps holds, in order: the database (migrated), the signing keys.
 * Shared by `tessera serve`, the other `tessera` commands and the test harness.
 */
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

export interface OpenDepsOptions {
  /** An already open database (tests); otherwise chosen from the config. */
  db?: Database;
  clock?: AppDeps['clock'];
  random?: AppDeps['random'];
  /** A mailer of the test's own (one that records what it was given); otherwise SMTP or the outbox, from the config. */
  mailer?: Mailer;
  onMigration?: MigrationProgress;
}

export async function openDeps(config: Config, options: OpenDepsOptions = {}): Promise<AppDeps> {
  const db = options.db ?? (await openDatabase(config));
  try {
    await migrate(db, options.onMigration);
    const clock = options.clock ?? systemClock;
    const random = options.random ?? cryptoRandom;
    const keys = await openKeyStore(db, { clock, random });
    const mailer = options.mailer ?? createMailer(config, { db, clock, random });
    return { config, db, clock, random, keys, hasher: argon2Hasher, store: new ResourceStore(db), mailer };
  } catch (err) {
    if (!options.db) {
      await db.close().catch(() => undefined);
    }
    throw err;
  }
}
