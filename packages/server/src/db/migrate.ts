/**
 * Schema migrations: numbered SQL files in `migrations/`, applied in order at start.
 * All pending files run in one transaction that first takes a transaction-level advisory
 * lock, so several instances starting at once apply each migration exactly once and the
 * others wait, then find nothing left to do. DDL is transactional in PostgreSQL, so a
 * failing migration leaves the schema as it was.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.js';

/** Arbitrary but fixed: the advisory lock key that serialises migrations (ASCII "tessera"). */
const MIGRATION_LOCK_KEY = 0x7465737365726n;

const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(dir = migrationsDir): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_-]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f.replace(/\.sql$/, ''), sql: readFileSync(join(dir, f), 'utf8') }));
}

export type MigrationProgress = (event: { migration: Migration; index: number; total: number }) => void;

/**
 * Applies pending migrations; returns the names applied by this call (empty when up to date).
 * `migrations` defaults to the files in `migrations/`; tests pass their own list.
 */
export async function migrate(db: Database, onProgress?: MigrationProgress, migrations: Migration[] = listMigrations()): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS schema_migration (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await tx.query<{ version: number }>('SELECT version FROM schema_migration')).rows.map((r) => Number(r.version)),
    );
    const pending = migrations.filter((m) => !done.has(m.version));
    const applied: string[] = [];
    for (const [index, migration] of pending.entries()) {
      onProgress?.({ migration, index, total: pending.length });
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migration (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      applied.push(migration.name);
    }
    return applied;
  });
}
