/**
 * Writes a resource's index rows, in the caller's transaction. All seven tables are written
 * by one statement: data-modifying CTEs, each INSERT taking its rows from `unnest` of one
 * array a column, so a write costs one round trip however many values the resource has.
 * The DELETEs and INSERTs of one statement share a snapshot, so replacing a resource's rows
 * removes only the rows it had before (https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING).
 *
 * Called by ResourceStore only, which supplies the project from the caller's Scope.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../../db/database.js';
import type { IndexRows } from './index-rows.js';

interface TableSpec<K extends keyof IndexRows> {
  table: string;
  /** Column name, PostgreSQL array type, and how to read it from a row. */
  columns: Array<[string, string, (row: IndexRows[K][number]) => string | null]>;
}

type Specs = { [K in keyof IndexRows]: TableSpec<K> };

const TABLES: Specs = {
  token: {
    table: 'search_token',
    columns: [
      ['code', 'text[]', (r) => r.code],
      ['system', 'text[]', (r) => r.system],
      ['value', 'text[]', (r) => r.value],
      ['text', 'text[]', (r) => r.text],
      ['type_system', 'text[]', (r) => r.typeSystem],
      ['type_code', 'text[]', (r) => r.typeCode],
    ],
  },
  string: {
    table: 'search_string',
    columns: [
      ['code', 'text[]', (r) => r.code],
      ['value', 'text[]', (r) => r.value],
      ['exact', 'text[]', (r) => r.exact],
    ],
  },
  reference: {
    table: 'search_reference',
    columns: [
      ['code', 'text[]', (r) => r.code],
      ['target_type', 'text[]', (r) => r.targetType],
      ['target_id', 'text[]', (r) => r.targetId],
      ['reference', 'text[]', (r) => r.reference],
    ],
  },
  date: {
    table: 'search_date',
    columns: [
      ['code', 'text[]', (r) => r.code],
      ['low', 'timestamptz[]', (r) => r.low],
      ['high', 'timestamptz[]', (r) => r.high],
    ],
  },
  number: {
    table: 'search_number',
    columns: [
      ['code', 'text[]', (r) => r.code],
      ['low', 'numeric[]', (r) => r.low],
      ['high', 'numeric[]', (r) => r.high],
    ],
  },
  quantity: {
    table: 'search_quantity',
    columns: [
      ['code', 'text[]', (r) => r.code],
      ['value', 'numeric[]', (r) => r.value],
      ['system', 'text[]', (r) => r.system],
      ['unit_code', 'text[]', (r) => r.unitCode],
      ['unit', 'text[]', (r) => r.unit],
    ],
  },
  uri: {
    table: 'search_uri',
    columns: [
      ['code', 'text[]', (r) => r.code],
      ['value', 'text[]', (r) => r.value],
    ],
  },
};

export const INDEX_TABLES: readonly string[] = Object.values(TABLES).map((t) => t.table);

export interface IndexTarget {
  projectId: string;
  resourceType: string;
  resourceId: string;
}

/**
 * Replaces the index rows of one resource. `replace` false skips the DELETEs, for a resource
 * that has never been written before (a create), which cannot have rows yet.
 */
export async function writeIndexRows(tx: Queryable, target: IndexTarget, rows: IndexRows, replace: boolean): Promise<void> {
  const params: unknown[] = [target.projectId, target.resourceType, target.resourceId];
  const ctes: string[] = [];
  if (replace) {
    ctes.push(...deleteClauses());
  }
  for (const key of Object.keys(TABLES) as Array<keyof IndexRows>) {
    const insert = insertClause(TABLES[key] as TableSpec<typeof key>, rows[key], params);
    if (insert) ctes.push(insert);
  }
  if (ctes.length === 0) {
    return;
  }
  const sql = `WITH ${ctes.map((c, i) => `w${i} AS (${c})`).join(',\n')} SELECT 1`;
  // The text depends only on which tables get rows and on `replace` (a few hundred shapes at
  // most), so it is prepared once per connection under a name derived from the text itself.
  await tx.query(sql, params, { name: `tessera_ix_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}` });
}

/** Removes every index row of one resource (on delete). */
export async function deleteIndexRows(tx: Queryable, target: IndexTarget): Promise<void> {
  const sql = `WITH ${deleteClauses().map((c, i) => `w${i} AS (${c})`).join(',\n')} SELECT 1`;
  await tx.query(sql, [target.projectId, target.resourceType, target.resourceId], { name: 'tessera_ix_delete' });
}

function deleteClauses(): string[] {
  return INDEX_TABLES.map((table) => `DELETE FROM ${table} WHERE project_id = $1::uuid AND resource_type = $2::text AND resource_id = $3::text`);
}

function insertClause<K extends keyof IndexRows>(spec: TableSpec<K>, rows: IndexRows[K], params: unknown[]): string | undefined {
  if (rows.length === 0) {
    return undefined;
  }
  const arrays = spec.columns.map(([, type, read]) => {
    params.push((rows as Array<IndexRows[K][number]>).map(read));
    return `$${params.length}::${type}`;
  });
  const names = spec.columns.map(([name]) => name).join(', ');
  return `INSERT INTO ${spec.table} (project_id, resource_type, resource_id, ${names})
    SELECT $1::uuid, $2::text, $3::text, u.* FROM unnest(${arrays.join(', ')}) AS u`;
}

/** One resource's index rows in a multi-resource write (writeIndexClausesMany). */
export interface IndexEntry {
  target: IndexTarget;
  rows: IndexRows;
  /** True when the resource may have rows already (an update): they are removed first. */
  replace: boolean;
}

/**
 * The index rows of many resources as data-modifying CTE bodies for one statement (a bulk
 * write, ResourceStore.flushBatch): per table one DELETE of the replaced resources' old rows
 * and one INSERT from `unnest` of column arrays that carry the project, type and id of each
 * row too. `params` gets the arrays appended; the clauses name them by position. As in
 * writeIndexRows, the DELETEs and INSERTs share one snapshot, so a DELETE removes only old rows.
 */
export function writeIndexClausesMany(entries: readonly IndexEntry[], params: unknown[]): string[] {
  const clauses: string[] = [];
  const replaced = entries.filter((e) => e.replace);
  if (replaced.length > 0) {
    params.push(
      replaced.map((e) => e.target.projectId),
      replaced.map((e) => e.target.resourceType),
      replaced.map((e) => e.target.resourceId),
    );
    const [p, t, i] = [params.length - 2, params.length - 1, params.length];
    for (const table of INDEX_TABLES) {
      clauses.push(`DELETE FROM ${table} WHERE (project_id, resource_type, resource_id) IN (SELECT * FROM unnest($${p}::uuid[], $${t}::text[], $${i}::text[]))`);
    }
  }
  for (const key of Object.keys(TABLES) as Array<keyof IndexRows>) {
    const spec = TABLES[key] as TableSpec<typeof key>;
    const owners: IndexTarget[] = [];
    const rows: Array<IndexRows[typeof key][number]> = [];
    for (const entry of entries) {
      for (const row of entry.rows[key] as Array<IndexRows[typeof key][number]>) {
        owners.push(entry.target);
        rows.push(row);
      }
    }
    if (rows.length === 0) continue;
    params.push(
      owners.map((o) => o.projectId),
      owners.map((o) => o.resourceType),
      owners.map((o) => o.resourceId),
    );
    const arrays = [`$${params.length - 2}::uuid[]`, `$${params.length - 1}::text[]`, `$${params.length}::text[]`];
    for (const [, type, read] of spec.columns) {
      params.push(rows.map(read));
      arrays.push(`$${params.length}::${type}`);
    }
    const names = spec.columns.map(([name]) => name).join(', ');
    clauses.push(`INSERT INTO ${spec.table} (project_id, resource_type, resource_id, ${names}) SELECT * FROM unnest(${arrays.join(', ')})`);
  }
  return clauses;
}
