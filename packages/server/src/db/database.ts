/**
 * The one storage interface: a PostgreSQL dialect reached through `pg` (a server) or PGlite
 * (embedded WASM PostgreSQL). Both drivers pass the same contract tests (`database.test.ts`).
 * Only parameterised SQL goes through here: values travel in `params`, never in `sql`.
 *
 * What both drivers guarantee (and the contract test checks):
 * - `query` runs exactly one statement; a string with several is refused. `exec` runs scripts.
 * - jsonb parameters travel as JSON text (`JSON.stringify(value)` with `$n::jsonb`): `pg` would
 *   send a JS array as a PostgreSQL array. jsonb comes back parsed.
 * - bigint (count(*), bigserial) comes back as a decimal string; int4 as a number;
 *   timestamptz as a Date.
 * - a failed statement rejects with an error whose `code` is the SQLSTATE (`23505`, ...).
 */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * Prepares the statement once per connection under this name and reuses its plan (pg).
   * Only for fixed SQL text on hot paths: one name, one text. PGlite ignores it.
   */
  name?: string;
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<Row>>;
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
