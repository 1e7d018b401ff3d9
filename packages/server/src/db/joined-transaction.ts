/**
 * A `Database` that runs everything in one open transaction: its `query` goes to the
 * transaction, and its `transaction(fn)` joins that transaction instead of starting another.
 * Code written against `Database` (the ResourceStore, the Repository, search) can then run
 * unchanged inside a caller's transaction: a transaction Bundle, a conditional create that
 * holds a lock while it searches and writes. It also avoids the deadlock that an outer
 * `db.query` would meet on PGlite, whose one connection the transaction holds.
 *
 * A failure inside a joined `transaction(fn)` is not rolled back alone (no savepoint): it
 * propagates, and the outer transaction rolls back everything, which is what its callers want.
 */
import type { Database, Queryable } from './database.js';

export function joinTransaction(tx: Queryable, kind: Database['kind']): Database {
  const joined: Database = {
    kind,
    query: (sql, params) => tx.query(sql, params),
    exec: (sql) => tx.exec(sql),
    transaction: (fn) => fn(tx),
    close() {
      return Promise.reject(new Error('A joined transaction is closed by the code that opened it'));
    },
  };
  return joined;
}
