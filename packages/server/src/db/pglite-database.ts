/**
 * The embedded driver: PGlite, PostgreSQL compiled to WASM, running in this process.
 * One connection, so statements are serialised; a transaction holds the connection until it ends.
 * `dataDir` undefined means in memory (tests); otherwise the files live there (`DATA_DIR`).
 */
import { mkdirSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import type { Database, Queryable, QueryResult } from './database.js';

export async function openPgliteDatabase(dataDir?: string): Promise<Database> {
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
  }
  // bigint (int8, e.g. count(*) and bigserial) comes back as a decimal string, as it does from
  // `pg`: exact beyond 2^53, and the same type whichever driver runs (contract test).
  const parsers = { [types.INT8]: (value: string) => value };
  const db = await PGlite.create(dataDir ? { dataDir, parsers } : { parsers });

  function wrap(q: Pick<PGlite, 'query' | 'exec'>): Queryable {
    return {
      async query<Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
        const result = await q.query<Row>(sql, params as unknown[]);
        return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
      },
      async exec(sql: string) {
        await q.exec(sql);
      },
    };
  }

  const root = wrap(db);
  return {
    kind: 'pglite',
    query: root.query,
    exec: root.exec,
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return db.transaction((tx) => fn(wrap(tx)));
    },
    async close() {
      await db.close();
    },
  };
}
