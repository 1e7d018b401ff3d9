/**
 * Migrations are safe when several instances start at once (DESIGN: "applied at start under
 * an advisory lock"). The PostgreSQL part runs whenever a PostgreSQL answers at PG_ADMIN_URL
 * (default: the local server), in either run, on databases it creates and drops itself:
 * concurrency needs separate connection pools on one fresh database, which the shared test
 * database cannot give. On PGlite (one connection per handle) it checks idempotence and that
 * a failing migration leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../src/db/database.js';
import { listMigrations, migrate, type Migration } from '../src/db/migrate.js';
import { openPgDatabase } from '../src/db/pg-database.js';
import { openPgliteDatabase } from '../src/db/pglite-database.js';
import { createMember, fhirClient } from './factories.js';
import { createFreshPgDatabase, isPostgresReachable, pgAdminUrl, type FreshPgDatabase } from './fresh-pg-database.js';
import { startTestServer, type TestServer } from './harness.js';

const all = listMigrations();

async function appliedVersions(db: Database): Promise<Array<{ version: number; times: number }>> {
  const { rows } = await db.query<{ version: number; times: number }>(
    'SELECT version, count(*)::int AS times FROM schema_migration GROUP BY version ORDER BY version',
  );
  return rows;
}

const onceEach = all.map((m) => ({ version: m.version, times: 1 }));

async function tableExists(db: Database, name: string): Promise<boolean> {
  const { rows } = await db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name]);
  return rows[0]?.t != null;
}

describe('migrations on PGlite', () => {
  it('apply every migration once; a second run applies nothing', async () => {
    const db = await openPgliteDatabase();
    try {
      const seen: string[] = [];
      assert.deepEqual(await migrate(db, ({ migration, index, total }) => seen.push(`${index + 1}/${total} ${migration.name}`)), all.map((m) => m.name));
      assert.deepEqual(seen, all.map((m, i) => `${i + 1}/${all.length} ${m.name}`));
      assert.deepEqual(await migrate(db), []);
      assert.deepEqual(await appliedVersions(db), onceEach);
    } finally {
      await db.close();
    }
  });

  it('a failing migration leaves the schema as it was, and a later run succeeds', async () => {
    const db = await openPgliteDatabase();
    try {
      const broken: Migration = { version: 9999, name: '9999_broken', sql: 'CREATE TABLE half_done (x int); SELECT * FROM no_such_table;' };
      await assert.rejects(migrate(db, undefined, [...all, broken]), /no_such_table/);
      for (const table of ['schema_migration', 'resource', 'half_done']) {
        assert.equal(await tableExists(db, table), false, `${table} should not exist`);
      }
      assert.deepEqual(await migrate(db), all.map((m) => m.name));
    } finally {
      await db.close();
    }
  });
});

/** Where a server really listens, when its BASE_URL names a public address instead. */
function listeningUrl(server: TestServer): string {
  const address = server.app.server.address();
  assert.ok(address && typeof address === 'object');
  return `http://127.0.0.1:${address.port}/`;
}

const reachable = await isPostgresReachable();

describe('migrations on PostgreSQL, several instances at once', { skip: reachable ? false : `no PostgreSQL answers at ${pgAdminUrl()}` }, () => {
  const fresh: FreshPgDatabase[] = [];
  after(async () => {
    await Promise.all(fresh.map((f) => f.drop()));
  });

  it('four instances migrating one fresh database apply each migration exactly once', async () => {
    const database = await createFreshPgDatabase('migrate');
    fresh.push(database);
    // Separate pools, as separate server processes would have.
    const instances = Array.from({ length: 4 }, () => openPgDatabase(database.url, 2));
    try {
      const results = await Promise.all(instances.map((db) => migrate(db)));
      const appliers = results.filter((applied) => applied.length > 0);
      assert.equal(appliers.length, 1, `expected one instance to apply the migrations, got ${JSON.stringify(results)}`);
      assert.deepEqual(appliers[0], all.map((m) => m.name));
      const [first] = instances as [Database];
      assert.deepEqual(await appliedVersions(first), onceEach);
      assert.deepEqual(await migrate(first), []);
    } finally {
      await Promise.all(instances.map((db) => db.close()));
    }
  });

  describe('two servers starting at once on one fresh database', () => {
    let servers: TestServer[] = [];
    before(async () => {
      const database = await createFreshPgDatabase('twostart');
      fresh.push(database);
      // Behind one load balancer, instances share the public BASE_URL (the tokens' issuer).
      const env = { BASE_URL: 'http://tessera.invalid/' };
      servers = await Promise.all([0, 1].map(() => startTestServer({ db: openPgDatabase(database.url, 3), env })));
    });
    after(async () => {
      await Promise.all(servers.map((s) => s.close()));
    });

    it('make one signing key, which both publish and verify with', async () => {
      const [a, b] = servers as [TestServer, TestServer];
      const { rows } = await a.deps.db.query<{ n: string }>('SELECT count(*) AS n FROM signing_key');
      assert.equal(rows[0]?.n, '1');
      assert.deepEqual(await a.deps.db.query('SELECT version FROM schema_migration'), await b.deps.db.query('SELECT version FROM schema_migration'));

      const jwks = await Promise.all([a, b].map(async (s) => (await fetch(new URL('.well-known/jwks.json', listeningUrl(s)))).json() as Promise<{ keys: unknown[] }>));
      assert.equal(jwks[0]?.keys.length, 1);
      assert.deepEqual(jwks[0], jwks[1]);

      // A token signed by one instance is accepted by the other.
      const member = await createMember(a);
      const read = await fhirClient({ ...b, fhirUrl: `${listeningUrl(b)}fhir/R4/` }, member.token).get(member.profile);
      assert.equal(read.status, 200);
    });
  });
});
