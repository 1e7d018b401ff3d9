/**
 * First-run bootstrap of the super admin (ADMIN_EMAIL / ADMIN_PASSWORD, `tessera create-admin`):
 * what it creates, that it is idempotent, that instances starting at once make one admin,
 * and that the admin it makes can use the API. Runs on the suite's database (PGlite, or
 * TEST_DATABASE_URL); each test uses its own email, so it can share that database.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Practitioner, Project, ProjectMembership, User } from '@medplum/fhirtypes';
import { ensureSuperAdmin } from '../src/admin/super-admin.js';
import { issueTokenForEmail } from '../src/auth/issue-token.js';
import { serve } from '../src/cli/serve.js';
import { loadConfig } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { openPgDatabase } from '../src/db/pg-database.js';
import { openPgliteDatabase } from '../src/db/pglite-database.js';
import type { AppDeps } from '../src/deps.js';
import { openDeps } from '../src/open-deps.js';
import { createFreshPgDatabase } from './fresh-pg-database.js';
import { freePort, openTestDatabase, testDatabaseUrl } from './harness.js';

let emails = 0;
function uniqueEmail(): string {
  return `Root.${process.pid}.${Date.now()}.${++emails}@Example.COM`;
}

interface Stored<T> {
  projectId: string;
  resource: T & { id: string };
}

/** Every live User with this email, and the Projects and memberships that point at them. */
async function adminRecords(db: Database, email: string) {
  const select = async <T>(where: string, params: unknown[]): Promise<Array<Stored<T>>> =>
    (await db.query<{ project_id: string; content: T & { id: string } }>(`SELECT project_id, content FROM resource WHERE NOT deleted AND ${where}`, params)).rows.map(
      (r) => ({ projectId: r.project_id, resource: r.content }),
    );
  const users = await select<User>(`resource_type = 'User' AND lower(content->>'email') = $1`, [email.toLowerCase()]);
  const refs = users.map((u) => `User/${u.resource.id}`);
  const projects = await select<Project>(`resource_type = 'Project' AND content->'owner'->>'reference' = ANY($1::text[])`, [refs]);
  const memberships = await select<ProjectMembership>(`resource_type = 'ProjectMembership' AND content->'user'->>'reference' = ANY($1::text[])`, [refs]);
  return { users, projects, memberships };
}

describe('ensureSuperAdmin', () => {
  let deps: AppDeps;
  before(async () => {
    deps = await openDeps(loadConfig({ LOG_LEVEL: 'silent' }), { db: await openTestDatabase() });
  });
  after(() => deps?.db.close());

  it('creates the User, a super-admin Project it owns, a Practitioner profile and an admin membership', async () => {
    const email = uniqueEmail();
    const result = await ensureSuperAdmin(deps, { email, password: 'correct horse battery' });
    assert.equal(result.created, true);

    const { users, projects, memberships } = await adminRecords(deps.db, email);
    assert.equal(users.length, 1);
    const user = users[0]!.resource;
    assert.equal(user.id, result.userId);
    assert.equal(user.email, email.toLowerCase());
    assert.match(user.passwordHash ?? '', /^\$argon2id\$/);
    assert.equal(await deps.hasher.verify(user.passwordHash, 'correct horse battery'), true);

    assert.equal(projects.length, 1);
    const project = projects[0]!;
    assert.equal(project.resource.id, result.projectId);
    assert.equal(project.projectId, result.projectId);
    assert.equal(project.resource.superAdmin, true);
    assert.deepEqual(project.resource.owner, { reference: `User/${user.id}` });

    assert.equal(memberships.length, 1);
    const membership = memberships[0]!;
    assert.equal(membership.resource.id, result.membershipId);
    assert.equal(membership.projectId, result.projectId);
    assert.equal(membership.resource.admin, true);
    assert.deepEqual(membership.resource.project, { reference: `Project/${result.projectId}`, display: 'Super Admin' });
    const [profileType, profileId] = (membership.resource.profile?.reference ?? '').split('/');
    assert.equal(profileType, 'Practitioner');
    const { rows } = await deps.db.query<{ content: Practitioner }>(
      `SELECT content FROM resource WHERE project_id = $1 AND resource_type = 'Practitioner' AND id = $2 AND NOT deleted`,
      [result.projectId, profileId],
    );
    assert.equal(rows.length, 1);
  });

  it('changes nothing when called again, not even the password', async () => {
    const email = uniqueEmail();
    const first = await ensureSuperAdmin(deps, { email, password: 'first password' });
    const before = await adminRecords(deps.db, email);
    const again = await ensureSuperAdmin(deps, { email: email.toUpperCase(), password: 'second password' });
    assert.deepEqual(again, { created: false, userId: first.userId });
    assert.deepEqual(await adminRecords(deps.db, email), before);
  });
});

describe('five instances bootstrapping one fresh database at once', () => {
  // On PostgreSQL, five pools on a database of its own (each opening, migrating and
  // bootstrapping as a starting server does); on PGlite, one handle and five calls.
  let handles: Database[] = [];
  let drop = async (): Promise<void> => undefined;
  before(async () => {
    if (testDatabaseUrl()) {
      const fresh = await createFreshPgDatabase('bootstrap');
      drop = fresh.drop;
      handles = Array.from({ length: 5 }, () => openPgDatabase(fresh.url, 2));
    } else {
      handles = [await openPgliteDatabase()];
    }
  });
  after(async () => {
    await Promise.all(handles.map((db) => db.close()));
    await drop();
  });

  it('make exactly one User, Project and membership', async () => {
    const email = uniqueEmail();
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const results = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const deps = await openDeps(config, { db: handles[i % handles.length]! });
        return ensureSuperAdmin(deps, { email, password: 'concurrent start' });
      }),
    );
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.equal(new Set(results.map((r) => r.userId)).size, 1);
    const { users, projects, memberships } = await adminRecords(handles[0]!, email);
    assert.deepEqual([users.length, projects.length, memberships.length], [1, 1, 1]);
    const { rows } = await handles[0]!.query<{ n: string }>(`SELECT count(*) AS n FROM resource WHERE resource_type = 'Project' AND content->>'superAdmin' = 'true'`);
    assert.equal(rows[0]?.n, '1');
  });
});

describe('a server started with ADMIN_EMAIL and ADMIN_PASSWORD', () => {
  it('bootstraps an admin whose token reads its own Project over HTTP', async () => {
    const email = uniqueEmail();
    const port = await freePort();
    const dataDir = await mkdtemp(join(tmpdir(), 'tessera-bootstrap-'));
    const url = testDatabaseUrl();
    const lines: string[] = [];
    const server = await serve(
      loadConfig({
        PORT: String(port),
        HOST: '127.0.0.1',
        BASE_URL: `http://127.0.0.1:${port}/`,
        LOG_LEVEL: 'silent',
        ADMIN_EMAIL: email,
        ADMIN_PASSWORD: 'bootstrap password',
        ...(url ? { DATABASE_URL: url } : { DATA_DIR: dataDir }),
      }),
      (line) => lines.push(line),
    );
    try {
      assert.ok(lines.some((l) => l.startsWith(`Created super admin ${email.toLowerCase()}`)), lines.join('\n'));
      const issued = await issueTokenForEmail(
        { ...server.deps, issuer: server.url, lifetimeSeconds: 300 },
        email.toLowerCase(),
      );
      const res = await fetch(`${server.url}fhir/R4/Project/${issued.projectId}`, { headers: { authorization: `Bearer ${issued.accessToken}` } });
      assert.equal(res.status, 200);
      const project = (await res.json()) as Project;
      assert.equal(project.id, issued.projectId);
      assert.equal(project.superAdmin, true);
      assert.match(project.owner?.reference ?? '', /^User\//);
    } finally {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
