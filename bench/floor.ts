/**
 * The floor: the least a server could do for the same requests, to measure Tessera against.
 * A bare Fastify app on the same driver (`pg` Pool, same size) running the same SQL as
 * Tessera's ResourceStore, on the same database and project:
 *   GET  /fhir/R4/:type/:id  the same SELECT by primary key, answering the stored JSON;
 *   POST /fhir/R4/:type      the same transaction (upsert into resource, insert into
 *                            resource_history), with server-assigned id and meta;
 *   GET  /fhir/R4/:type?...  (with --searches FILE) for each search URL in the file, the
 *                            statements Tessera runs for it (recorded from Tessera's own search
 *                            code, search-statements.ts), in order: the page's statements
 *                            as attempts, each run when the one before returned fewer rows
 *                            than asked for (one more than the page size, to know if there is
 *                            a next page), the last one run giving the matches; then the
 *                            `_include`d resources; answered as a searchset Bundle.
 * Deliberately left out: authentication, validation, access checks, error translation,
 * security headers. Whatever Tessera spends beyond this is the cost of those.
 *
 * Run as its own process by run.ts:
 *   node --import tsx bench/floor.ts --database-url URL --port N --project UUID [--pool-size 10] [--searches FILE]
 * A search the file does not list answers 404: the floor runs fixed statements, it parses nothing.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import pg from 'pg';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    port: { type: 'string' },
    project: { type: 'string' },
    'pool-size': { type: 'string', default: '10' },
    searches: { type: 'string' },
  },
});
const databaseUrl = values['database-url'];
const projectId = values.project;
const port = Number(values.port);
if (!databaseUrl || !projectId || !Number.isInteger(port)) {
  console.error('usage: floor.ts --database-url URL --port N --project UUID [--pool-size N]');
  process.exit(2);
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** A search the floor answers: its URL path as the bench sends it, and Tessera's statements for it. */
export interface FloorSearch {
  path: string;
  /** The page size asked for: a page statement returns one row more. */
  count: number;
  /** `page`: one of the page's attempts (statement-recorder.ts); the others are includes. */
  statements: Array<{ sql: string; params: unknown[]; page?: boolean }>;
}

const searches = new Map<string, FloorSearch>(
  values.searches ? (JSON.parse(readFileSync(values.searches, 'utf8')) as FloorSearch[]).map((s) => [s.path, s]) : [],
);

const SELECT_CURRENT = `SELECT resource_type, id, version_id, last_updated, deleted, content FROM resource
  WHERE project_id = $1 AND resource_type = $2 AND id = $3`;
const UPSERT_CURRENT = `INSERT INTO resource (project_id, resource_type, id, version_id, last_updated, deleted, content)
  VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
  ON CONFLICT (project_id, resource_type, id) DO UPDATE
    SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated,
        deleted = EXCLUDED.deleted, content = EXCLUDED.content`;
const INSERT_HISTORY = `INSERT INTO resource_history (project_id, resource_type, id, version_id, last_updated, deleted, method, content)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`;

const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(values['pool-size']) });
pool.on('error', () => undefined);

const app = Fastify({ logger: false });
app.addContentTypeParser('application/fhir+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'ignore'));

app.get('/healthz', async () => {
  await pool.query('SELECT 1');
  return { ok: true };
});

app.get<{ Params: { type: string; id: string } }>('/fhir/R4/:type/:id', async (request, reply) => {
  const { rows } = await pool.query<{ deleted: boolean; content: object }>(SELECT_CURRENT, [projectId, request.params.type, request.params.id]);
  const row = rows[0];
  if (!row || row.deleted) {
    return reply.status(404).send();
  }
  return reply.type(FHIR_JSON).send(row.content);
});

app.get('/fhir/R4/:type', async (request, reply) => {
  const search = searches.get(request.url);
  if (!search) {
    return reply.status(404).send();
  }
  const entry: object[] = [];
  const base = `http://${request.headers.host}/fhir/R4/`;
  type Row = { resource_type: string; id: string; content: object };
  const toEntry = (mode: string) => (row: Row) => ({ fullUrl: `${base}${row.resource_type}/${row.id}`, resource: row.content, search: { mode } });
  let matches: Row[] = [];
  let filled = false;
  for (const statement of search.statements.filter((s) => s.page)) {
    if (filled) break;
    matches = (await pool.query<Row>(statement.sql, statement.params)).rows;
    filled = matches.length > search.count;
  }
  entry.push(...matches.slice(0, search.count).map(toEntry('match')));
  for (const statement of search.statements.filter((s) => !s.page)) {
    entry.push(...(await pool.query<Row>(statement.sql, statement.params)).rows.map(toEntry('include')));
  }
  return reply.type(FHIR_JSON).send({ resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'self', url: `${base}${request.url.slice('/fhir/R4/'.length)}` }], entry });
});

app.post<{ Params: { type: string }; Body: Record<string, unknown> }>('/fhir/R4/:type', async (request, reply) => {
  const id = randomUUID();
  const versionId = randomUUID();
  const lastUpdated = new Date();
  const resource = { ...request.body, id, meta: { versionId, lastUpdated: lastUpdated.toISOString() } };
  const content = JSON.stringify(resource);
  const type = request.params.type;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(UPSERT_CURRENT, [projectId, type, id, versionId, lastUpdated, false, content]);
    await client.query(INSERT_HISTORY, [projectId, type, id, versionId, lastUpdated, false, 'POST', content]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return reply.status(201).type(FHIR_JSON).send(resource);
});

const stop = (): void => {
  app.close().then(() => pool.end()).then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

await app.listen({ port, host: '127.0.0.1' });
