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
