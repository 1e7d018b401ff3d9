/**
 * Transaction-scoped advisory locks on string keys
 * (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS): what
 * serialises conditional creates and updates with the same criteria (fhir/conditional.ts,
 * transaction Bundles) and invites of the same person (admin/invite-lookups.ts), across every
 * server instance that shares the database. The server's own one-off locks (migrations, key
 * generation, first-run bootstrap) take a fixed bigint instead and do not come through here.
 */
import type { Queryable } from './database.js';

/**
 * Locks `keys` until the transaction `tx` ends, in one statement.
 *
 * Each key becomes a 64-bit lock id (`hashtextextended`, the widest hash PostgreSQL offers on
 * text: `hashtext` gives 32 bits, whose collisions make unrelated keys wait for each other far
 * sooner). The ids are deduplicated and taken in ascending numeric order: integer order is the
 * same on every database whatever its collation, so two transactions that lock overlapping sets
 * always take their common locks in the same order and cannot deadlock on them. Sorting the ids
 * rather than the key text also covers two keys that hash alike: sorted by text, {A, B} and
 * {B, C} with A and C sharing an id would take the same two locks in opposite orders.
 *
 * The ordered subquery is not flattened into the aggregate (PostgreSQL keeps a subquery with
 * ORDER BY and DISTINCT as its own plan node), so the locks are taken row by row in its order.
 */
export async function lockKeys(tx: Queryable, keys: Iterable<string>): Promise<void> {
  const list = [...keys];
  if (list.length === 0) {
    return;
  }
  await tx.query(
    `SELECT count(pg_advisory_xact_lock(lock_id))
       FROM (SELECT DISTINCT hashtextextended(k, 0) AS lock_id FROM unnest($1::text[]) AS u(k) ORDER BY lock_id) AS ids`,
    [list],
  );
}
