/**
 * Makes the large data set for the search bench: the resources the Synthea import created,
 * copied in SQL inside the bench database until there are at least `targetResources`, all in
 * the same project, so the per-project indexes hold every copy. Copy n of a resource with id X
 * has id `X-cn`; every reference between the imported resources is remapped the same way, in
 * the stored JSON (`"reference": "Type/X"` becomes `"Type/X-cn"`) and in search_reference
 * (target_id, reference), so copy n is a self-contained second record set: a chain or an
 * `_include` from a copy lands on that copy's Patient.
 *
 * Index tables are found by their columns (project_id, resource_type, resource_id), so a
 * search table added later is copied too; a column the generator does not know is copied
 * unchanged and named in the log. Deliberately left out: resource_history (search never reads
 * it; the copies have no history, so `_history` on a copy is empty) and every resource the
 * import did not create (the admin's Practitioner, ProjectMembership, ...).
 *
 * For speed the tables' secondary indexes are dropped before copying and rebuilt after with
 * their own definitions (as read from pg_indexes), then VACUUM (ANALYZE) leaves the tables
 * as a long-running server's would be: statistics current, visibility map set.
 * Only the bench database is touched; the caller stops the servers first.
 */
import pg from 'pg';
import type { CreatedResource } from './synthea-import.js';

export interface MultiplyOptions {
  databaseUrl: string;
  projectId: string;
  created: CreatedResource[];
  targetResources: number;
  /** Copies per INSERT statement: the progress step. */
  copiesPerStep: number;
  log: (line: string) => void;
}

export interface MultiplyResult {
  copies: number;
  /** Imported resources plus their copies. */
  resources: number;
  /** Rows per table after copying. */
  rows: Record<string, number>;
  seconds: { copy: number; indexes: number; vacuum: number };
}

/** How each known column of a copied row is written; any other column is copied unchanged. */
const RESOURCE_COLUMNS: Record<string, string> = {
  id: `t.id || '-c' || n`,
  // "reference": "Type/id" anywhere in the JSON (as jsonb prints it), then the resource's own id.
  content: `jsonb_set(regexp_replace(t.content::text, '("reference": "[A-Za-z]+/[A-Za-z0-9.-]+)"', '\\1-c' || n || '"', 'g')::jsonb, '{id}', to_jsonb(t.id || '-c' || n))`,
};
const INDEX_COLUMNS: Record<string, string> = {
  resource_id: `t.resource_id || '-c' || n`,
  // Only search_reference has these: local references (target_type set) point into the copy.
  target_id: `CASE WHEN t.target_type IS NULL THEN t.target_id ELSE t.target_id || '-c' || n END`,
  reference: `CASE WHEN t.target_type IS NULL THEN t.reference ELSE t.reference || '-c' || n END`,
};
const PLAIN = new Set(['project_id', 'resource_type', 'code', 'value', 'system', 'text', 'type_system', 'type_code', 'exact', 'target_type', 'low', 'high', 'unit_code', 'unit', 'version_id', 'last_updated', 'deleted']);

interface CopiedTable {
  name: string;
  /** The id column the source set is joined on. */
  idColumn: 'id' | 'resource_id';
  columns: string[];
}

export async function multiplyData(options: MultiplyOptions): Promise<MultiplyResult> {
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    return await multiply(client, options);
  } finally {
    await client.end();
  }
}

async function multiply(client: pg.Client, options: MultiplyOptions): Promise<MultiplyResult> {
  const { log } = options;
  const base = options.created.length;
  const copies = Math.max(0, Math.ceil(options.targetResources / base) - 1);
  log(`Generating ${copies} copies of the ${base} imported resources (${(base * (copies + 1)).toLocaleString('en-US')} in all) in SQL`);
  // Session settings only: the bench database's own connection, nothing server-wide.
  await client.query(`SET synchronous_commit = off`);
  await client.query(`SET maintenance_work_mem = '512MB'`);
  await client.query(`SET work_mem = '64MB'`);
  await client.query(`CREATE TABLE bench_copy_source (resource_type text NOT NULL, id text NOT NULL, PRIMARY KEY (resource_type, id))`);
  await client.query(`INSERT INTO bench_copy_source SELECT * FROM unnest($1::text[], $2::text[])`, [
    options.created.map((c) => c.resourceType),
    options.created.map((c) => c.id),
  ]);
  await client.query(`ANALYZE bench_copy_source`);
  const tables = await findTables(client, log);
  await warnAboutOutsideReferences(client, options.projectId, log);

  const indexes = await dropSecondaryIndexes(client, tables.map((t) => t.name), log);
  const copyStarted = performance.now();
  for (let from = 1; from <= copies; from += options.copiesPerStep) {
    const to = Math.min(copies, from + options.copiesPerStep - 1);
    const stepStarted = performance.now();
    let rows = 0;
    for (const table of tables) {
      rows += (await client.query(copyStatement(table), [options.projectId, from, to])).rowCount ?? 0;
    }
    const elapsed = (performance.now() - copyStarted) / 1000;
    const eta = (elapsed / to) * (copies - to);
    log(`  copies ${from}-${to} of ${copies}: ${rows.toLocaleString('en-US')} rows in ${((performance.now() - stepStarted) / 1000).toFixed(0)} s; ` +
      `${((to / copies) * 100).toFixed(0)}% after ${elapsed.toFixed(0)} s, about ${eta.toFixed(0)} s to go`);
  }
  const copySeconds = (performance.now() - copyStarted) / 1000;

  const indexStarted = performance.now();
  for (const index of indexes) {
    const t0 = performance.now();
    await client.query(index.definition);
    log(`  rebuilt ${index.name} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const indexSeconds = (performance.now() - indexStarted) / 1000;

  await client.query(`DROP TABLE bench_copy_source`);
  const vacuumStarted = performance.now();
  const rows: Record<string, number> = {};
  for (const table of tables) {
    const t0 = performance.now();
    await client.query(`VACUUM (ANALYZE) ${table.name}`);
    const { rows: counted } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table.name}`);
    rows[table.name] = Number(counted[0]?.n ?? 0);
    log(`  VACUUM (ANALYZE) ${table.name} (${rows[table.name]?.toLocaleString('en-US')} rows) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const vacuumSeconds = (performance.now() - vacuumStarted) / 1000;
  return { copies, resources: base * (copies + 1), rows, seconds: { copy: copySeconds, indexes: indexSeconds, vacuum: vacuumSeconds } };
}

/** `resource`, then every table with project_id, resource_type and resource_id (the search index tables). */
async function findTables(client: pg.Client, log: (line: string) => void): Promise<CopiedTable[]> {
  const { rows } = await client.query<{ table_name: string; columns: string[] }>(
    `SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) AS columns
       FROM information_schema.columns WHERE table_schema = 'public' GROUP BY table_name ORDER BY table_name`,
  );
  const tables: CopiedTable[] = [];
  for (const { table_name: name, columns } of rows) {
    const isResource = name === 'resource';
    const isIndex = ['project_id', 'resource_type', 'resource_id'].every((c) => columns.includes(c));
    if (!isResource && !isIndex) continue;
    const known = isResource ? RESOURCE_COLUMNS : INDEX_COLUMNS;
    const unknown = columns.filter((c) => !(c in known) && !PLAIN.has(c));
    if (unknown.length > 0) {
      log(`  note: ${name}.${unknown.join(`, ${name}.`)} copied unchanged (not a column this generator knows)`);
    }
    tables.push({ name, idColumn: isResource ? 'id' : 'resource_id', columns });
  }
  return tables.sort((a, b) => (a.name === 'resource' ? -1 : b.name === 'resource' ? 1 : a.name.localeCompare(b.name)));
}

function copyStatement(table: CopiedTable): string {
  const known = table.idColumn === 'id' ? RESOURCE_COLUMNS : INDEX_COLUMNS;
  const select = table.columns.map((c) => known[c] ?? `t.${c}`);
  return `INSERT INTO ${table.name} (${table.columns.join(', ')})
    SELECT ${select.join(', ')}
      FROM ${table.name} t
      JOIN bench_copy_source b ON b.resource_type = t.resource_type AND b.id = t.${table.idColumn}
      CROSS JOIN generate_series($2::integer, $3::integer) AS n
     WHERE t.project_id = $1`;
}

/** A reference from an imported resource to one outside the set would point at a copy that does not exist. */
async function warnAboutOutsideReferences(client: pg.Client, projectId: string, log: (line: string) => void): Promise<void> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM search_reference s
       JOIN bench_copy_source b ON b.resource_type = s.resource_type AND b.id = s.resource_id
      WHERE s.project_id = $1 AND s.target_type IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM bench_copy_source o WHERE o.resource_type = s.target_type AND o.id = s.target_id)`,
    [projectId],
  );
  const outside = Number(rows[0]?.n ?? 0);
  if (outside > 0) {
    log(`  warning: ${outside} references from imported resources point outside the imported set; their copies will dangle`);
  }
}

interface IndexDefinition {
  name: string;
  definition: string;
}

/** Drops every index of the tables that does not back a constraint; returns their definitions to rebuild. */
async function dropSecondaryIndexes(client: pg.Client, tables: string[], log: (line: string) => void): Promise<IndexDefinition[]> {
  const { rows } = await client.query<{ name: string; definition: string }>(
    `SELECT i.indexname AS name, i.indexdef AS definition FROM pg_indexes i
      WHERE i.schemaname = 'public' AND i.tablename = ANY($1::text[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)
      ORDER BY i.tablename, i.indexname`,
    [tables],
  );
  for (const index of rows) {
    await client.query(`DROP INDEX ${index.name}`);
  }
  log(`  dropped ${rows.length} secondary indexes for the copy; they are rebuilt from their definitions after it`);
  return rows;
}
