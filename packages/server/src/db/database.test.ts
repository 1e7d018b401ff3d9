/**
 * The Database contract: one suite, run against both drivers in the same process.
 * - PGlite, in memory: always.
 * - pg: on TEST_DATABASE_URL when set (the `--pg` run); otherwise on a database this file
 *   creates through PG_ADMIN_URL (default: the local server) and drops at the end; skipped,
 *   with the reason shown, when no PostgreSQL answers.
 *
 * Each suite works in a schema of its own with a unique name, dropped (CASCADE) at the end,
 * so the file leaves nothing behind, can run twice on the same database, and cleans up even
 * when an assertion fails halfway. Not TEMP tables: those belong to one connection, and the
 * pg driver spreads queries over a pool, so a TEMP table made by one query can be invisible
 * to the next.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createFreshPgDatabase, isPostgresReachable, pgAdminUrl } from '../../test/fresh-pg-database.js';
import { testDatabaseUrl } from '../../test/harness.js';
import type { Database } from './database.js';
import { openPgDatabase } from './pg-database.js';
import { openPgliteDatabase } from './pglite-database.js';

interface Target {
  name: string;
  skip: string | false;
  /** Opens the database and returns it with what undoes the opening. */
  open(): Promise<{ db: Database; dispose(): Promise<void> }>;
}

const pgTarget: Target = await (async (): Promise<Target> => {
  const url = testDatabaseUrl();
  if (url) {
    return { name: 'pg (TEST_DATABASE_URL)', skip: false, open: async () => ({ db: openPgDatabase(url, 4), dispose: async () => undefined }) };
  }
  const reachable = await isPostgresReachable();
  return {
    name: 'pg (a database of its own)',
    skip: reachable ? false : `no PostgreSQL answers at ${pgAdminUrl()}`,
    async open() {
      const fresh = await createFreshPgDatabase('contract');
      return { db: openPgDatabase(fresh.url, 4), dispose: fresh.drop };
    },
  };
})();

const targets: Target[] = [
  { name: 'pglite (in memory)', skip: false, open: async () => ({ db: await openPgliteDatabase(), dispose: async () => undefined }) },
  pgTarget,
];

/** An error as both drivers raise it for a failed statement. */
interface SqlError extends Error {
  code?: string;
}

for (const target of targets) {
  describe(`Database contract: ${target.name}`, { skip: target.skip }, () => {
    let db: Database;
    let dispose: () => Promise<void>;
    const schema = `contract_${randomBytes(5).toString('hex')}`;
    let tables = 0;

    /** A new empty table `(id int primary key, label text, content jsonb, at timestamptz)`. */
    async function newTable(): Promise<string> {
      const table = `${schema}.t${++tables}`;
      await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, label text, content jsonb, at timestamptz)`);
      return table;
    }

    async function labels(table: string): Promise<string[]> {
      return (await db.query<{ label: string }>(`SELECT label FROM ${table} ORDER BY id`)).rows.map((r) => r.label);
    }

    before(async () => {
      ({ db, dispose } = await target.open());
      await db.query(`CREATE SCHEMA ${schema}`);
    });

    after(async () => {
      await db?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db?.close();
      await dispose?.();
    });

    it('passes parameters by position and returns typed rows', async () => {
      const { rows } = await db.query(`SELECT $1::int + $2::int AS sum, $3::text AS label, $4::boolean AS flag, $5::text AS nothing`, [2, 3, 'x', true, null]);
      assert.deepEqual(rows, [{ sum: 5, label: 'x', flag: true, nothing: null }]);

      const table = await newTable();
      await db.query(`INSERT INTO ${table} (id, label) VALUES ($1, $2), ($3, $4)`, [1, 'one', 2, 'two']);
      const found = await db.query<{ id: number }>(`SELECT id FROM ${table} WHERE label = $1`, ['two']);
      assert.deepEqual(found.rows, [{ id: 2 }]);
    });

    it('round-trips jsonb unchanged and queries into it with parameters', async () => {
      const table = await newTable();
      const content = {
        resourceType: 'Patient',
        name: [{ given: ['Zoë', '中文', '😀'], family: "O'Brien \"the\" \\ second" }],
        numbers: [0, -1.5, 1e21, 123456789012],
        empty: '',
        nested: { deeper: { nothing: null, yes: true, list: [] } },
      };
      await db.query(`INSERT INTO ${table} (id, content) VALUES ($1, $2::jsonb)`, [1, JSON.stringify(content)]);
      const { rows } = await db.query<{ content: unknown; family: string }>(`SELECT content, content->'name'->0->>'family' AS family FROM ${table}`);
      assert.deepEqual(rows[0]?.content, content);
      assert.equal(rows[0]?.family, content.name[0]?.family);
      const contained = await db.query(`SELECT id FROM ${table} WHERE content @> $1::jsonb`, [JSON.stringify({ nested: { deeper: { yes: true } } })]);
      assert.equal(contained.rowCount, 1);
    });

    it('returns bigint as an exact decimal string, int as a number and timestamptz as a Date', async () => {
      const at = new Date('2024-02-29T12:34:56.789Z');
      const { rows } = await db.query<{ big: unknown; n: unknown; small: unknown; at: unknown }>(
        `SELECT 9007199254740993::bigint AS big, count(*) AS n, 7::int AS small, $1::timestamptz AS at FROM (VALUES (1), (2)) v(x)`,
        [at],
      );
      assert.deepEqual(rows[0], { big: '9007199254740993', n: '2', small: 7, at });
    });

    it('commits a transaction and returns what its function returned', async () => {
      const table = await newTable();
      const value = await db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} (id, label) VALUES (1, $1)`, ['kept']);
        const inside = await tx.query(`SELECT label FROM ${table}`);
        return inside.rows.length;
      });
      assert.equal(value, 1);
      assert.deepEqual(await labels(table), ['kept']);
    });

    it('rolls back when the function throws, rethrows that error, and stays usable', async () => {
      const table = await newTable();
      const boom = new Error('boom');
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${table} (id, label) VALUES (1, 'gone')`);
          await tx.exec(`CREATE TABLE ${schema}.made_in_tx (x int); INSERT INTO ${schema}.made_in_tx VALUES (1);`);
          throw boom;
        }),
        (err) => err === boom,
      );
      assert.deepEqual(await labels(table), []);
      // DDL is transactional too: migrations rely on this.
      const made = await db.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [`${schema}.made_in_tx`]);
      assert.equal(made.rows[0]?.t, null);
      await db.transaction((tx) => tx.query(`INSERT INTO ${table} (id, label) VALUES (2, 'after')`));
      assert.deepEqual(await labels(table), ['after']);
    });

    it('rolls back on a failed statement and reports its SQLSTATE code', async () => {
      const table = await newTable();
      await db.query(`INSERT INTO ${table} (id, label) VALUES (1, 'first')`);
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${table} (id, label) VALUES (2, 'second')`);
          await tx.query(`INSERT INTO ${table} (id, label) VALUES (1, 'duplicate')`);
        }),
        (err: SqlError) => err.code === '23505',
      );
      await assert.rejects(db.query(`SELECT no_such_column FROM ${table}`), (err: SqlError) => err.code === '42703');
      assert.deepEqual(await labels(table), ['first']);
    });

    it('never runs an outside query inside another caller’s transaction', async () => {
      const table = await newTable();
      let inserted!: () => void;
      const insertedSignal = new Promise<void>((resolve) => (inserted = resolve));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const running = db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} (id, label) VALUES (1, 'uncommitted')`);
        inserted();
        await gate;
        throw new Error('roll back');
      });
      await insertedSignal;
      // pg answers from another connection (not seeing the uncommitted row); PGlite waits for
      // the transaction to end. Either way the row that is rolled back is never seen.
      const outside = db.query(`SELECT label FROM ${table}`);
      release();
      await assert.rejects(running, /roll back/);
      assert.deepEqual((await outside).rows, []);
    });

    it('serialises concurrent transactions that update the same row', async () => {
      const table = await newTable();
      await db.query(`INSERT INTO ${table} (id, label) VALUES (1, '0')`);
      await Promise.all(
        Array.from({ length: 5 }, () =>
          db.transaction(async (tx) => {
            const { rows } = await tx.query<{ label: string }>(`SELECT label FROM ${table} WHERE id = 1 FOR UPDATE`);
            await tx.query(`UPDATE ${table} SET label = $1 WHERE id = 1`, [String(Number(rows[0]?.label) + 1)]);
          }),
        ),
      );
      assert.deepEqual(await labels(table), ['5']);
    });

    it('exec runs a script of several statements', async () => {
      const table = `${schema}.scripted`;
      await db.exec(`
        -- a comment; with a semicolon
        CREATE TABLE ${table} (id int PRIMARY KEY, label text);
        INSERT INTO ${table} VALUES (1, 'a;b'), (2, 'two');
        UPDATE ${table} SET label = label || '!' WHERE id = 2;
      `);
      assert.deepEqual(await labels(table), ['a;b', 'two!']);
    });

    it('query runs exactly one statement and refuses a string with several', async () => {
      const table = await newTable();
      await assert.rejects(db.query(`INSERT INTO ${table} (id, label) VALUES (1, 'x'); DROP TABLE ${table}`));
      await assert.rejects(db.transaction((tx) => tx.query(`SELECT 1; SELECT 2`)));
      assert.deepEqual(await labels(table), []);
    });

    it('reports rowCount for INSERT, UPDATE, DELETE and SELECT, in and out of a transaction', async () => {
      const table = await newTable();
      assert.equal((await db.query(`INSERT INTO ${table} (id, label) VALUES (1, 'a'), (2, 'b'), (3, 'c')`)).rowCount, 3);
      assert.equal((await db.query(`UPDATE ${table} SET label = 'x' WHERE id >= $1`, [2])).rowCount, 2);
      assert.equal((await db.query(`UPDATE ${table} SET label = 'y' WHERE id > 100`)).rowCount, 0);
      assert.equal((await db.query(`SELECT * FROM ${table}`)).rowCount, 3);
      assert.equal((await db.query(`SELECT * FROM ${table} WHERE false`)).rowCount, 0);
      const counts = await db.transaction(async (tx) => [
        (await tx.query(`UPDATE ${table} SET label = 'z' RETURNING id`)).rowCount,
        (await tx.query(`DELETE FROM ${table} WHERE id = 1`)).rowCount,
        (await tx.query(`SELECT * FROM ${table}`)).rowCount,
      ]);
      assert.deepEqual(counts, [3, 1, 2]);
    });

    it('never interprets a parameter as SQL', async () => {
      const table = await newTable();
      const hostile = [`'); DROP TABLE ${table}; --`, `$1`, `\\'; SELECT pg_sleep(10); --`, `" OR 1=1 --`, `%_*`];
      for (const [i, value] of hostile.entries()) {
        await db.query(`INSERT INTO ${table} (id, label, content) VALUES ($1, $2, $3::jsonb)`, [i, value, JSON.stringify({ value })]);
      }
      const { rows } = await db.query<{ label: string; value: string }>(`SELECT label, content->>'value' AS value FROM ${table} ORDER BY id`);
      assert.deepEqual(rows, hostile.map((value) => ({ label: value, value })));
      const first = await db.query(`SELECT id FROM ${table} WHERE label = $1`, [hostile[0]]);
      assert.deepEqual(first.rows, [{ id: 0 }]);
      // The LIKE wildcards in the last value match nothing as a plain equality.
      assert.equal((await db.query(`SELECT id FROM ${table} WHERE label = $1`, ['%'])).rowCount, 0);
    });
  });
}
