/**
 * Twenty concurrent invites of one email end with exactly one User and one membership: one
 * invite wins (200), the others find it and answer 409, or with `upsert` all answer 200 with
 * the same membership. Passes on PGlite and on PostgreSQL (run-tests --pg), where the requests
 * really run in parallel on several connections.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uniqueEmail } from './auth-client.js';
import { createMember, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { SYSTEM_PROJECT_ID } from '../src/fhir/scope.js';

const N = 20;

async function adminPost(server: TestServer, token: string, path: string, body: unknown) {
  const res = await fetch(new URL(path, server.baseUrl), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('concurrent invites of one email', () => {
  let server: TestServer;
  let admin: TestMember;

  before(async () => {
    server = await startTestServer();
    admin = await createMember(server);
  });
  after(() => server.close());

  /** Users with this email in a scope, and the project's memberships whose user has it. */
  async function census(email: string, userProjectId: string): Promise<{ users: number; memberships: number }> {
    const { rows } = await server.deps.db.query<{ users: string; memberships: string }>(
      `SELECT (SELECT count(*) FROM resource WHERE project_id = $1 AND resource_type = 'User' AND NOT deleted AND lower(content->>'email') = $3)::text AS users,
              (SELECT count(*) FROM resource WHERE project_id = $2 AND resource_type = 'ProjectMembership' AND NOT deleted AND content->'user'->>'display' = $3)::text AS memberships`,
      [userProjectId, admin.projectId, email],
    );
    return { users: Number(rows[0]?.users), memberships: Number(rows[0]?.memberships) };
  }

  const inviteAll = (body: Record<string, unknown>) =>
    Promise.all(Array.from({ length: N }, (_, i) => adminPost(server, admin.token, `admin/projects/${admin.projectId}/invite`, { ...body, email: i % 2 ? String(body.email).toUpperCase() : body.email })));

  it('makes one server-wide User and one membership; the other 19 get 409', async () => {
    const email = uniqueEmail('race');
    const results = await inviteAll({ resourceType: 'Practitioner', firstName: 'Apu', lastName: 'Nahasapeemapetilon', email, sendEmail: false });
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, ...Array<number>(N - 1).fill(409)], JSON.stringify(results.filter((r) => r.status !== 409 && r.status !== 200)));
    for (const r of results.filter((x) => x.status === 409)) assert.equal(r.body.resourceType, 'OperationOutcome');
    assert.deepEqual(await census(email, SYSTEM_PROJECT_ID), { users: 1, memberships: 1 });
  });

  it('with upsert, all 20 answer 200 with the same membership; still one User and one membership', async () => {
    const email = uniqueEmail('race-upsert');
    const results = await inviteAll({ resourceType: 'Patient', firstName: 'Ralph', lastName: 'Wiggum', email, sendEmail: false, upsert: true });
    assert.deepEqual(
      results.map((r) => r.status),
      Array<number>(N).fill(200),
      JSON.stringify(results.find((r) => r.status !== 200)?.body),
    );
    assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
    // A Patient's User is project-scoped.
    assert.deepEqual(await census(email, admin.projectId), { users: 1, memberships: 1 });
  });
});
