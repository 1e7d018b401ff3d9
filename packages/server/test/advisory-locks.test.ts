/**
 * db/advisory-locks.ts on the suite's database (PGlite, or PostgreSQL with `--pg`): a key held
 * by one transaction makes another wait for its commit, and two transactions that lock the
 * same keys given in opposite orders both complete instead of deadlocking.
 *
 * The interleavings these tests force need concurrent connections, which only PostgreSQL has:
 * PGlite has one connection, so its transactions run one after the other and a test that
 * waited there for a second transaction to block would wait forever. On PGlite the same
 * transactions run without the forcing, which still shows the helper works on that driver.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { lockKeys } from '../src/db/advisory-locks.js';
import type { Database } from '../src/db/database.js';
import { openTestDatabase } from './harness.js';

/** Safety nets, so that broken locks fail a test rather than hang the run; no duration is asserted. */
const TEST_TIMEOUT_MS = 60_000;
const MAX_POLLS = 2_000;

/** A promise and the function that resolves it: one step of a test's choreography. */
function signal(): { done: Promise<void>; fire: () => void } {
  let fire = (): void => undefined;
  const done = new Promise<void>((resolve) => (fire = resolve));
  return { done, fire };
}

describe('advisory locks on string keys', () => {
  let db: Database;
  before(async () => {
    db = await openTestDatabase();
  });
  after(async () => {
    await db.close();
  });

  /**
   * Resolves once `count` lock requests on the ids of `keys` are waiting (PostgreSQL); throws
   * if they never are. An advisory lock on a bigint shows in pg_locks as its high (classid)
   * and low (objid) 32 bits.
   */
  async function waitForWaiters(keys: readonly string[], count: number): Promise<void> {
    for (let poll = 0; poll < MAX_POLLS; poll++) {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM pg_locks
          WHERE locktype = 'advisory' AND objsubid = 1 AND NOT granted
            AND ((classid::bigint << 32) | objid::bigint) IN (SELECT hashtextextended(k, 0) FROM unnest($1::text[]) AS u(k))`,
        [keys],
      );
      if (Number(rows[0]?.n) >= count) return;
      // Polls the lock table; how long this takes is never asserted.
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`Never saw ${count} transactions waiting for these keys`);
  }

  it('makes a second transaction that takes a held key wait until the first commits', { timeout: TEST_TIMEOUT_MS }, async () => {
    const [shared, own, other] = [randomUUID(), randomUUID(), randomUUID()];
    const events: string[] = [];
    const taken = signal();
    const release = signal();
    const holder = db.transaction(async (tx) => {
      await lockKeys(tx, [own, shared]);
      taken.fire();
      await release.done;
      events.push('holder ends');
    });
    await taken.done;
    const waiter = db.transaction(async (tx) => {
      await lockKeys(tx, [other, shared]);
      events.push('waiter holds the key');
    });
    try {
      if (db.kind === 'pg') await waitForWaiters([shared], 1);
    } finally {
      release.fire();
      await Promise.all([holder, waiter]);
    }
    assert.deepEqual(events, ['holder ends', 'waiter holds the key']);
  });

  it('lets two transactions lock the same keys given in opposite orders, without a deadlock', { timeout: TEST_TIMEOUT_MS }, async () => {
    const [a, b, gate] = [randomUUID(), randomUUID(), randomUUID()];
    // A third transaction holds `gate`, so that each of the two takes what comes before `gate`
    // in its order, then waits. Taken in the order given, the first would then hold `a` and the
    // second `b`, each waiting for the other once `gate` opens: PostgreSQL's deadlock.
    const gateTaken = signal();
    const openGate = signal();
    const gatekeeper =
      db.kind === 'pg'
        ? db.transaction(async (tx) => {
            await lockKeys(tx, [gate]);
            gateTaken.fire();
            await openGate.done;
          })
        : Promise.resolve();
    if (db.kind === 'pg') await gateTaken.done;
    const first = db.transaction((tx) => lockKeys(tx, [a, gate, b]));
    const second = db.transaction((tx) => lockKeys(tx, [b, gate, a]));
    // Whatever the sorted order of the three ids, two requests are then waiting.
    try {
      if (db.kind === 'pg') await waitForWaiters([a, b, gate], 2);
    } finally {
      openGate.fire();
      await Promise.all([gatekeeper, first, second]);
    }
  });
});
