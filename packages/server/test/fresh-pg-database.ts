/**
 * Throwaway PostgreSQL databases for tests that need a database of their own (several
 * instances migrating at once, a first-run bootstrap), whichever driver the rest of the
 * suite runs on. They are made through PG_ADMIN_URL (default: the local server, as in CI) and
 * dropped by the caller, so a run leaves nothing behind and can run twice.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export function pgAdminUrl(): string {
  return process.env.PG_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
}

let reachable: Promise<boolean> | undefined;

/** Whether the PostgreSQL at PG_ADMIN_URL answers (checked once per process, 2 s at most). */
export function isPostgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: pgAdminUrl(), connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

async function runAsAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgAdminUrl(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface FreshPgDatabase {
  url: string;
  /** Drops the database, closing whatever connections are still open to it. */
  drop(): Promise<void>;
}

/** Creates an empty database named `tessera_<label>_<random>`; `label` is lower-case letters and `_`. */
export async function createFreshPgDatabase(label: string): Promise<FreshPgDatabase> {
  if (!/^[a-z_]{1,30}$/.test(label)) {
    throw new Error(`Bad database label ${JSON.stringify(label)}`);
  }
  // Both parts are generated here, never taken from input: identifiers cannot be parameters.
  const name = `tessera_${label}_${randomBytes(5).toString('hex')}`;
  await runAsAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(pgAdminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => runAsAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
