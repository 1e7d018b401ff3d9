/** The `pg` driver: a connection pool to a PostgreSQL server (`DATABASE_URL`). */
import pg from 'pg';
import type { Database, Queryable, QueryOptions, QueryResult } from './database.js';

type Runner = Pick<pg.Pool | pg.PoolClient, 'query'>;

/**
 * Always the extended protocol, even without parameters: a `query` is then exactly one
 * statement, as on PGlite, so a string that smuggles in `; DROP ...` fails instead of running
 * stacked statements. Scripts of several statements go through `exec`.
 */
async function runQuery<Row>(runner: Runner, sql: string, params: readonly unknown[], options?: QueryOptions): Promise<QueryResult<Row>> {
  // `queryMode` is a pg option (lib/query.js) that @types/pg does not declare yet.
  const config: pg.QueryConfig & { queryMode: 'extended' } = { text: sql, values: params as unknown[], queryMode: 'extended' };
  if (options?.name) {
    // A named statement is parsed and planned once per connection (pg prepares it lazily).
    config.name = options.name;
  }
  const result = await runner.query(config);
  return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
}

export function openPgDatabase(url: string, poolSize = 10): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);

  return {
    kind: 'pg',
    query: <Row>(sql: string, params: readonly unknown[] = [], options?: QueryOptions) => runQuery<Row>(pool, sql, params, options),
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      const tx: Queryable = {
        query: <Row>(sql: string, params: readonly unknown[] = [], options?: QueryOptions) => runQuery<Row>(client, sql, params, options),
        async exec(sql: string) {
          await client.query(sql);
        },
      };
      // Set when the connection's transaction state is unknown: it is then closed, not pooled,
      // so the next caller never finds itself inside someone else's transaction.
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const value = await fn(tx);
        await client.query('COMMIT');
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };
}
