/**
 * A throwaway PostgreSQL database for one bench run: created empty (Tessera migrates it),
 * dropped at the end even if sessions are still open. It never touches any other database.
 */
import pg from 'pg';

export interface BenchDatabase {
  readonly name: string;
  /** The URL servers and the `tessera` command connect with. */
  readonly url: string;
  readonly serverVersion: string;
  drop(): Promise<void>;
}

/** `adminUrl` names a database to connect to for CREATE/DROP DATABASE (usually `postgres`). */
export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `tessera_bench_${process.pid}_${Date.now().toString(36)}`;
  const serverVersion = await withAdmin(adminUrl, async (client) => {
    await client.query(`CREATE DATABASE ${name}`);
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    serverVersion,
    async drop() {
      if (dropped) return;
      dropped = true;
      // FORCE (PostgreSQL 13+) ends sessions a killed child may have left behind.
      await withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** A client on `url` for as long as `fn` runs, closed however `fn` ends. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>, connectionTimeoutMillis?: number): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

// CREATE and DROP give up on a PostgreSQL that does not answer, rather than wait for the watchdog.
function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(adminUrl, fn, 5000);
}
