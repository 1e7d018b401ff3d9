/**
 * The one storage interface: a PostgreSQL dialect reached through `pg` (a server) or PGlite
 * (embedded WASM PostgreSQL). Both drivers pass the same contract tests (`database.test.ts`).
 * Only parameterised SQL goes through here: values travel in `params`, never in `sql`.
 */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  /** Runs a script of several statements with no parameters (migrations only). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  /** Which driver this is, for logs and benchmarks. */
  readonly kind: 'pg' | 'pglite';
  /**
   * Runs `fn` in one database transaction: committed when `fn` resolves, rolled back when it throws.
   * Everything inside must go through `tx`; the outer handle may wait for the transaction to end.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
