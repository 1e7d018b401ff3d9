/**
 * Bulk invite: `POST /admin/projects/:projectId/invite/bulk` with CSV, NDJSON and a JSON array
 * (per-row results; idempotent by email: a second run reports every row `exists` and writes
 * nothing), and `tessera invite` as a command (a file, one person, progress on stderr).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { AccessPolicy, AuditEvent, Bundle, ProjectMembership } from '@medplum/fhirtypes';
import { uniqueEmail } from './auth-client.js';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type TestMember } from './factories.js';
import { createFreshPgDatabase, type FreshPgDatabase } from './fresh-pg-database.js';
import { startTestServer, testDatabaseUrl, type TestServer } from './harness.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';
import { loadConfig } from '../src/config.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { openDeps } from '../src/open-deps.js';

const bin = fileURLToPath(new URL('../bin/tessera.js', import.meta.url));

async function bulkPost(server: TestServer, token: string, projectId: string, body: string, contentType: string) {
  const res = await fetch(new URL(`admin/projects/${projectId}/invite/bulk`, server.baseUrl), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    body,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

describe('bulk invite over HTTP', () => {
  let sink: SmtpSink;
  let server: TestServer;
  let admin: TestMember;
  let policyId: string;

  before(async () => {
    sink = await startSmtpSink();
    server = await startTestServer({ env: { SMTP_URL: sink.url } });
    admin = await createMember(server);
    policyId = (await fhirClient(server, admin.token).post<AccessPolicy & { id: string }>('AccessPolicy', { resourceType: 'AccessPolicy', name: 'p', resource: [{ resourceType: 'Patient' }] })).body.id;
  });
  after(async () => {
    await server.close();
    await sink.close();
  });

  it('invites CSV rows, reports each row, and a second run reports them all as existing without writing', async () => {
    const [a, b, c] = [uniqueEmail('csv-a'), uniqueEmail('csv-b'), uniqueEmail('csv-c')];
    const csv = [
      'resourceType,firstName,lastName,email,externalId,accessPolicy,admin,sendEmail',
      `Practitioner,Ann,"Smith, Jr.",${a.toUpperCase()},,${policyId},true,false`,
      `Patient,Bob,"O""Brien",${b},,,,`,
      `Practitioner,Cy,Doe,not-an-email,,,,false`,
      `Practitioner,Dee,Roe,${c},,,,true`,
      'Practitioner,Too,Short',
      `RelatedPerson,Eve,Poe,,ext-${c},,,false`,
    ].join('\r\n');
    const first = await bulkPost(server, admin.token, admin.projectId, csv, 'text/csv');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const statuses = first.body.results.map((r: any) => r.status);
    assert.deepEqual(statuses, ['created', 'created', 'error', 'created', 'error', 'error']);
    assert.deepEqual([first.body.total, first.body.created, first.body.exists, first.body.errors], [6, 3, 0, 3]);
    const [ann, bob, bad, dee, short, eve] = first.body.results;
    assert.equal(ann.email, a);
    assert.equal(bad.outcome.issue[0].expression[0], 'email');
    assert.match(short.outcome.issue[0].details.text, /3 fields/);
    assert.equal(eve.outcome.issue[0].expression[0], 'patient');
    // The cells became the membership: policy, admin flag, the quoted name.
    const fhir = fhirClient(server, admin.token);
    const membership = (await fhir.get<ProjectMembership>(ann.membership)).body;
    assert.equal(membership.accessPolicy?.reference, `AccessPolicy/${policyId}`);
    assert.equal(membership.admin, true);
    assert.equal(membership.profile.display, 'Ann Smith, Jr.');
    assert.equal((await fhir.get<ProjectMembership>(bob.membership)).body.profile.display, 'Bob O"Brien');
    // sendEmail true (and by default) mails the row's person; false does not.
    assert.equal(dee.mail, 'sent');
    assert.equal(bob.mail, 'sent');
    assert.equal(ann.mail, 'none');
    await sink.waitForMail((m) => m.envelopeTo.includes(c));

    const rows = await countRows(server, admin.projectId);
    const second = await bulkPost(server, admin.token, admin.projectId, csv, 'text/csv');
    assert.equal(second.status, 200);
    assert.deepEqual(
      second.body.results.map((r: any) => r.status),
      ['exists', 'exists', 'error', 'exists', 'error', 'error'],
    );
    assert.equal(second.body.results[0].membership, ann.membership);
    assert.deepEqual(await countRows(server, admin.projectId), rows, 'the second run wrote nothing');
  });

  it('takes NDJSON (a bad line is that row error) and a JSON array; upsert in a row updates', async () => {
    const email = uniqueEmail('nd');
    const ndjson = [JSON.stringify({ resourceType: 'Practitioner', firstName: 'N', lastName: 'D', email, sendEmail: false }), '', '{"resourceType": ', JSON.stringify({ resourceType: 'Practitioner', firstName: 'N', lastName: 'D', email, sendEmail: false, upsert: true, admin: true })].join('\n');
    const res = await bulkPost(server, admin.token, admin.projectId, ndjson, 'application/x-ndjson');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.results.map((r: any) => [r.row, r.status]),
      [
        [1, 'created'],
        [3, 'error'],
        [4, 'updated'],
      ],
    );
    const array = await bulkPost(server, admin.token, admin.projectId, JSON.stringify([{ resourceType: 'Practitioner', firstName: 'N', lastName: 'D', email }, { resourceType: 'Nope' }]), 'application/json');
    assert.equal(array.status, 200, JSON.stringify(array.body));
    assert.deepEqual(
      array.body.results.map((r: any) => r.status),
      ['exists', 'error'],
    );
  });

  it('refuses a whole request it cannot read, and callers who are not admins', async () => {
    const member = await createMember(server, { projectId: admin.projectId, admin: false });
    const other = await createMember(server);
    const before = await countRows(server, admin.projectId);
    expectOutcome(await bulkPost(server, admin.token, admin.projectId, 'a,b\n1,2', 'text/plain'), 415);
    expectOutcome(await bulkPost(server, admin.token, admin.projectId, `resourceType,firstName,lastName,email,role\nPractitioner,A,B,${uniqueEmail()},x`, 'text/csv'), 400);
    expectOutcome(await bulkPost(server, admin.token, admin.projectId, '{"resourceType":"Practitioner"}', 'application/json'), 400);
    expectOutcome(await bulkPost(server, admin.token, admin.projectId, 'resourceType,firstName,lastName,email\n', 'text/csv'), 400);
    expectOutcome(await bulkPost(server, member.token, admin.projectId, `resourceType,firstName,lastName,email\nPractitioner,A,B,${uniqueEmail()}`, 'text/csv'), 403);
    expectOutcome(await bulkPost(server, other.token, admin.projectId, `resourceType,firstName,lastName,email\nPractitioner,A,B,${uniqueEmail()}`, 'text/csv'), 403);
    assert.deepEqual(await countRows(server, admin.projectId), before);
  });
});

describe('tessera invite', () => {
  let dataDir: string;
  let database: FreshPgDatabase | undefined;
  let env: NodeJS.ProcessEnv;
  const projectId = crypto.randomUUID();
  const configEnv = () => ({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...(database ? { DATABASE_URL: database.url } : {}) });

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-invite-cli-'));
    database = testDatabaseUrl() ? await createFreshPgDatabase('invite') : undefined;
    env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...(database ? { DATABASE_URL: database.url } : {}) };
    if (!database) delete env.DATABASE_URL;
    delete env.SMTP_URL;
    const deps = await openDeps(loadConfig(configEnv()));
    await new SystemRepository(deps).create(systemScope(projectId), { resourceType: 'Project', id: projectId, name: 'Invite target' });
    await deps.db.close();
  });
  after(async () => {
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [bin, 'invite', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    return { code, stdout, stderr };
  }

  it('invites the rows of a CSV file with a progress bar, reports a bad row, and is idempotent', async () => {
    const file = join(dataDir, 'rows.csv');
    const emails = [uniqueEmail('cli-1'), uniqueEmail('cli-2')];
    await writeFile(file, `resourceType,firstName,lastName,email,sendEmail\nPractitioner,One,Cli,${emails[0]},false\nPatient,Two,Cli,${emails[1]},false\nPractitioner,Bad,Row,nope,false\n`);
    const first = await run(['--project', projectId, '--file', file]);
    assert.equal(first.code, 1, `${first.stdout}\n${first.stderr}`);
    assert.match(first.stdout, /^3 rows: 2 created, 0 updated, 0 already members, 1 failed$/m);
    assert.match(first.stdout, /^row 3 \(nope\): .*\[email\]$/m);
    assert.match(first.stderr, /\[#{24}\] 100% {2}1\/1 files {2}3 resources {2}\d+\/s {2}1 error\n$/);
    const again = await run(['--project', projectId, '--file', file]);
    assert.match(again.stdout, /^3 rows: 0 created, 0 updated, 2 already members, 1 failed$/m);

    const one = await run(['--project', projectId, '--email', uniqueEmail('cli-3'), '--first-name', 'Three', '--last-name', 'Cli', '--json']);
    assert.equal(one.code, 0, `${one.stdout}\n${one.stderr}`);
    const result = JSON.parse(one.stdout);
    assert.equal(result.results[0].status, 'created');
    assert.equal(result.results[0].mail, 'stored', 'no SMTP_URL: the mail is kept in the outbox');

    const deps = await openDeps(loadConfig(configEnv()));
    try {
      assert.equal(await deps.store.count(systemScope(projectId), 'ProjectMembership'), 3);
    } finally {
      await deps.db.close();
    }
  });

  it('refuses a call without a project, a file and a person, or an unknown project (exit 2)', async () => {
    assert.equal((await run(['--email', 'a@example.com'])).code, 2);
    assert.equal((await run(['--project', projectId, '--file', join(dataDir, 'rows.txt')])).code, 2);
    const unknown = await run(['--project', crypto.randomUUID(), '--email', 'a@example.com', '--first-name', 'A', '--last-name', 'B']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /No project/);
  });
});

/**
 * What the chunked path (bulk-invite-chunk.ts: many rows per transaction, prefetched lookups,
 * held writes sent together) must keep: a failing row in a chunk writes nothing, a member is
 * `exists`, concurrent runs make each person once, and what it writes is indexed, versioned
 * and audited like a single invite's.
 */
describe('bulk invite in chunks', () => {
  let server: TestServer;
  let admin: TestMember;
  const csvOf = (lines: string[]) => ['resourceType,firstName,lastName,email,externalId,accessPolicy', ...lines].join('\n');
  const usersWithEmail = async (email: string) =>
    (await server.deps.store.findUsersByEmail(systemScope(SYSTEM_PROJECT_ID), email)).length + (await server.deps.store.findUsersByEmail(systemScope(admin.projectId), email)).length;

  before(async () => {
    server = await startTestServer();
    admin = await createMember(server);
  });
  after(async () => {
    await server.close();
  });

  it('a row that fails mid-invite writes nothing, and the rows around it go in', async () => {
    const [a, b, c, d] = ['mid-a', 'mid-b', 'mid-c', 'mid-d'].map((p) => uniqueEmail(p)) as [string, string, string, string];
    const before = await countRows(server, admin.projectId);
    const res = await bulkPost(
      server,
      admin.token,
      admin.projectId,
      csvOf([
        `Practitioner,Ann,A,${a},,`,
        // Fails after its User is made: a RelatedPerson needs a patient.
        `RelatedPerson,Bob,B,${b},,`,
        // Fails before: the policy is not in the project.
        `Practitioner,Cy,C,${c},,${crypto.randomUUID()}`,
        `Practitioner,Dee,D,${d},,`,
      ]),
      'text/csv',
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.results.map((r: any) => [r.row, r.status, r.outcome?.issue[0].expression[0]]),
      [
        [1, 'created', undefined],
        [2, 'error', 'patient'],
        [3, 'error', 'accessPolicy'],
        [4, 'created', undefined],
      ],
    );
    assert.equal(await usersWithEmail(b), 0, 'the failed row left no User');
    assert.equal(await usersWithEmail(c), 0);
    assert.equal(await usersWithEmail(a), 1);
    // Two rows, each a profile, a membership and an AuditEvent in the project (the Users are server-wide).
    const after = await countRows(server, admin.projectId);
    assert.deepEqual([after.resources - before.resources, after.history - before.history], [6, 6]);
  });

  it('reports a member already in the project as exists, among new rows', async () => {
    const member = uniqueEmail('already');
    const first = await bulkPost(server, admin.token, admin.projectId, csvOf([`Practitioner,Al,Ready,${member},,`]), 'text/csv');
    const [n1, n2] = [uniqueEmail('new-1'), uniqueEmail('new-2')];
    const res = await bulkPost(server, admin.token, admin.projectId, csvOf([`Practitioner,N,One,${n1},,`, `Practitioner,Al,Ready,${member.toUpperCase()},,`, `Practitioner,N,Two,${n2},,`]), 'text/csv');
    assert.deepEqual(
      res.body.results.map((r: any) => r.status),
      ['created', 'exists', 'created'],
    );
    assert.equal(res.body.results[1].membership, first.body.results[0].membership);
    assert.equal(await usersWithEmail(member), 1);
  });

  it('two bulk invites of overlapping emails at once, and a single invite beside them, make each person once', async () => {
    const emails = Array.from({ length: 30 }, (_, i) => uniqueEmail(`overlap-${i}`));
    const csv = (part: string[]) => csvOf(part.map((e, i) => `Practitioner,Over,Lap ${i},${e},,`));
    const single = fetch(new URL(`admin/projects/${admin.projectId}/invite`, server.baseUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ resourceType: 'Practitioner', firstName: 'Over', lastName: 'Single', email: emails[15], sendEmail: false }),
    });
    const [one, two, alone] = await Promise.all([bulkPost(server, admin.token, admin.projectId, csv(emails.slice(0, 20)), 'text/csv'), bulkPost(server, admin.token, admin.projectId, csv(emails.slice(10)), 'text/csv'), single]);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.equal(two.status, 200, JSON.stringify(two.body));
    assert.ok([200, 201, 409].includes(alone.status), String(alone.status));
    const created = [...one.body.results, ...two.body.results].filter((r: any) => r.status === 'created').map((r: any) => r.email);
    assert.equal(created.length + (alone.status === 409 ? 0 : 1), 30, 'each person created once');
    assert.equal(new Set(created).size, created.length);
    for (const email of emails) assert.equal(await usersWithEmail(email), 1, email);
    const fhir = fhirClient(server, admin.token);
    const memberships = await Promise.all(emails.map(async (email) => (await fhir.get<Bundle>(`Practitioner?email=${encodeURIComponent(email)}`)).body.entry?.length));
    assert.deepEqual(memberships, emails.map(() => 1), 'one profile each');
  });

  it('indexes, versions and audits what it writes', async () => {
    const email = uniqueEmail('indexed');
    const res = await bulkPost(server, admin.token, admin.projectId, csvOf([`Practitioner,Zebedee,Quuxington,${email},,`]), 'text/csv');
    const membershipRef: string = res.body.results[0].membership;
    const fhir = fhirClient(server, admin.token);
    const membership = (await fhir.get<ProjectMembership>(membershipRef)).body;
    const byName = (await fhir.get<Bundle>('Practitioner?name=quuxington')).body;
    const byEmail = (await fhir.get<Bundle>(`Practitioner?email=${encodeURIComponent(email)}`)).body;
    assert.deepEqual([byName.entry?.[0]?.resource?.id, byEmail.entry?.[0]?.resource?.id], [membership.profile.reference?.split('/')[1], membership.profile.reference?.split('/')[1]]);
    for (const query of [`user=${membership.user?.reference}`, `profile=${membership.profile.reference}`]) {
      const found = (await fhir.get<Bundle>(`ProjectMembership?${query}`)).body;
      assert.deepEqual(found.entry?.map((e) => e.resource?.id), [membership.id], query);
    }
    const history = (await fhir.get<Bundle>(`${membershipRef}/_history`)).body;
    assert.deepEqual(history.entry?.map((e) => e.resource?.meta?.versionId), [membership.meta?.versionId]);
    const audit = (await fhir.get<Bundle>(`AuditEvent?entity=${membershipRef}`)).body;
    assert.equal(audit.entry?.length, 1);
    assert.match((audit.entry?.[0]?.resource as AuditEvent | undefined)?.outcomeDesc ?? '', /^Invited .* as Practitioner$/);
  });
});
