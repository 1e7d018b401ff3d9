/**
 * The floor: the least a server could do for the same requests, to measure Tessera against.
 * A bare Fastify app on the same driver (`pg` Pool, same size) running the same SQL as
 * Tessera's ResourceStore, on the same database and project:
 *   GET  /fhir/R4/:type/:id  the same SELECT by primary key, answering the stored JSON;
 *   POST /fhir/R4/:type      the same transaction (upsert into resource, insert into
 *                            resource_history), with server-assigned id and meta.
 * Deliberately left out: authentication, validation, access checks, error translation,
 * security headers. Whatever Tessera spends beyond this is the cost of those.
 *
 * Run as its own process by run.ts:
 *   node --import tsx bench/floor.ts --database-url URL --port N --project UUID [--pool-size 10]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import pg from 'pg';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    port: { type: 'string' },
    project: { type: 'string' },
    'pool-size': { type: 'string', default: '10' },
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
