/**
 * Tenancy: a member of project B cannot read, version-read, change, delete or see in any
 * history a resource of project A, and each answer is the one an id that exists nowhere
 * gets, so B cannot even learn that the id is taken. Then the types no FHIR member may
 * touch: admin-only types for non-admins, the server's own for everybody, and User secrets.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { User } from '@medplum/fhirtypes';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { systemScope } from '../src/fhir/scope.js';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type FhirClient, type Response } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

interface Entry {
  fullUrl: string;
  resource?: { resourceType: string; id: string };
}

/** The `Type/id` of every entry of a history Bundle. */
function historyRefs(res: Response): string[] {
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const body = res.body as { type: string; entry: Entry[] };
  assert.equal(body.type, 'history');
  return body.entry.map((e) => e.fullUrl.split('/').slice(-2).join('/'));
}

/** The status and first issue code, for comparing two refusals. */
function answer(res: Response): { status: number; code: string | undefined } {
  return { status: res.status, code: expectOutcome(res, res.status) };
}

describe('tenancy: project B never reaches project A', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  /** Two projects, each with its admin; A has a Patient in two versions. */
  async function twoProjects() {
    const a = await createMember(server);
    const b = await createMember(server);
    const fhirA = fhirClient(server, a.token);
    const fhirB = fhirClient(server, b.token);
    const created = await fhirA.post('Patient', { resourceType: 'Patient', name: [{ family: 'OfA' }] });
    const updated = await fhirA.put(`Patient/${created.body.id}`, { ...created.body, active: true });
    assert.equal(updated.status, 200);
    return { a, b, fhirA, fhirB, patient: updated.body, firstVersion: created.body.meta.versionId as string };
  }

  it("answers B's read, vread, patch and delete of A's resource exactly as for an id that exists nowhere", async () => {
    const { a, fhirA, fhirB, patient, firstVersion } = await twoProjects();
    const rowsOfA = await countRows(server, a.projectId);
    const nowhere = randomUUID();
    const attempts: Array<[string, (id: string) => Promise<Response>]> = [
      ['read', (id) => fhirB.get(`Patient/${id}`)],
      ['vread current', (id) => fhirB.get(`Patient/${id}/_history/${patient.meta.versionId}`)],
      ['vread first', (id) => fhirB.get(`Patient/${id}/_history/${firstVersion}`)],
      ['patch', (id) => fhirB.patch(`Patient/${id}`, [{ op: 'replace', path: '/active', value: false }])],
      ['patch with If-Match', (id) => fhirB.patch(`Patient/${id}`, [{ op: 'replace', path: '/active', value: false }], { 'if-match': `W/"${patient.meta.versionId}"` })],
      ['delete', (id) => fhirB.delete(`Patient/${id}`)],
      ['delete with If-Match', (id) => fhirB.delete(`Patient/${id}`, { 'if-match': `W/"${patient.meta.versionId}"` })],
    ];
    for (const [name, attempt] of attempts) {
      const theirs = answer(await attempt(patient.id));
      const none = answer(await attempt(nowhere));
      assert.deepEqual(theirs, none, name);
      assert.equal(theirs.status, 404, name);
    }
    assert.deepEqual((await fhirA.get(`Patient/${patient.id}`)).body, patient);
    assert.deepEqual(await countRows(server, a.projectId), rowsOfA);
  });

  it("answers 404, not 410, when A's resource was deleted", async () => {
    const { fhirA, fhirB, patient } = await twoProjects();
    assert.equal((await fhirA.delete(`Patient/${patient.id}`)).status, 200);
    assert.equal((await fhirA.get(`Patient/${patient.id}`)).status, 410);
    const nowhere = randomUUID();
    for (const attempt of [
      (id: string) => fhirB.get(`Patient/${id}`),
      (id: string) => fhirB.get(`Patient/${id}/_history/${patient.meta.versionId}`),
      (id: string) => fhirB.patch(`Patient/${id}`, [{ op: 'add', path: '/active', value: false }]),
      (id: string) => fhirB.delete(`Patient/${id}`),
    ]) {
      const theirs = answer(await attempt(patient.id));
      assert.deepEqual(theirs, answer(await attempt(nowhere)));
      assert.equal(theirs.status, 404);
    }
    assert.deepEqual(historyRefs(await fhirB.get(`Patient/${patient.id}/_history`)), []);
  });

  it("a PUT in B to A's id makes B's own resource and leaves A's as it was", async () => {
    const { a, fhirA, fhirB, patient } = await twoProjects();
    const rowsOfA = await countRows(server, a.projectId);
    const nowhere = randomUUID();
    // If-Match with A's version: B has no such resource, as for any other id.
    const ifMatch = { 'if-match': `W/"${patient.meta.versionId}"` };
    const theirs = answer(await fhirB.put(`Patient/${patient.id}`, { resourceType: 'Patient', id: patient.id, name: [{ family: 'OfB' }] }, ifMatch));
    const none = answer(await fhirB.put(`Patient/${nowhere}`, { resourceType: 'Patient', id: nowhere, name: [{ family: 'OfB' }] }, ifMatch));
    assert.deepEqual(theirs, none);
    assert.equal(theirs.status, 412);
    // Without If-Match: update-as-create in B, as for an unused id (201 both times).
    const put = await fhirB.put(`Patient/${patient.id}`, { resourceType: 'Patient', id: patient.id, name: [{ family: 'OfB' }] });
    assert.equal(put.status, 201);
    assert.equal(put.body.meta.versionId === patient.meta.versionId, false);
    assert.equal((await fhirB.put(`Patient/${nowhere}`, { resourceType: 'Patient', id: nowhere })).status, 201);
    // A sees its own resource, unchanged, with its two versions only; B sees its own.
    assert.deepEqual((await fhirA.get(`Patient/${patient.id}`)).body, patient);
    assert.deepEqual(await countRows(server, a.projectId), rowsOfA);
    assert.equal(historyRefs(await fhirA.get(`Patient/${patient.id}/_history`)).length, 2);
    assert.equal((await fhirB.get(`Patient/${patient.id}`)).body.name[0].family, 'OfB');
    assert.equal(historyRefs(await fhirB.get(`Patient/${patient.id}/_history`)).length, 1);
    // B deleting its own copy does not delete A's.
    assert.equal((await fhirB.delete(`Patient/${patient.id}`)).status, 200);
    assert.deepEqual((await fhirA.get(`Patient/${patient.id}`)).body, patient);
  });

  it("never shows A's resources in B's instance, type or system history", async () => {
    const { a, fhirA, fhirB, patient } = await twoProjects();
    await fhirA.post('Observation', { resourceType: 'Observation', status: 'final', code: { text: 'of A' }, subject: { reference: `Patient/${patient.id}` } });
    const refsOfA = new Set(historyRefs(await fhirA.get('_history')));
    assert.ok(refsOfA.has(`Patient/${patient.id}`) && refsOfA.has(`Project/${a.projectId}`));
    const nowhere = randomUUID();
    const instance = await fhirB.get(`Patient/${patient.id}/_history`);
    assert.deepEqual(historyRefs(instance), []);
    assert.deepEqual(historyRefs(await fhirB.get(`Patient/${nowhere}/_history`)), []);
    const queries = ['', '?_since=2000-01-01T00:00:00Z', '?_count=1000', '?_cursor=999999999999999999'];
    for (const path of ['_history', 'Patient/_history', 'Observation/_history', 'Project/_history', 'ProjectMembership/_history', 'Practitioner/_history']) {
      for (const query of queries) {
        const seen = historyRefs(await fhirB.get(`${path}${query}`));
        assert.deepEqual(seen.filter((ref) => refsOfA.has(ref)), [], `${path}${query}`);
      }
    }
  });

  it("an admin of A sees neither B's Project nor its memberships", async () => {
    const { a, b, fhirA } = await twoProjects();
    const bProfile = b.profile.split('/')[1] as string;
    for (const [type, id] of [['Project', b.projectId], ['ProjectMembership', b.membershipId], ['Practitioner', bProfile]] as const) {
      const theirs = answer(await fhirA.get(`${type}/${id}`));
      assert.deepEqual(theirs, answer(await fhirA.get(`${type}/${randomUUID()}`)), type);
      assert.equal(theirs.status, 404);
      assert.deepEqual(historyRefs(await fhirA.get(`${type}/${id}/_history`)), []);
    }
    assert.deepEqual(historyRefs(await fhirA.get('Project/_history')), [`Project/${a.projectId}`]);
    assert.deepEqual(historyRefs(await fhirA.get('ProjectMembership/_history')), [`ProjectMembership/${a.membershipId}`]);
    const all = historyRefs(await fhirA.get('_history'));
    for (const ref of [`Project/${b.projectId}`, `ProjectMembership/${b.membershipId}`, b.profile]) {
      assert.equal(all.includes(ref), false, ref);
    }
  });
});

const ADMIN_TYPES = ['Project', 'ProjectMembership', 'User', 'AccessPolicy', 'ClientApplication', 'Bot'];
const SERVER_TYPES = ['Login', 'JsonWebKey', 'UserSecurityRequest', 'DomainConfiguration'];

/** Every FHIR interaction on a type, each expected to be refused with `status`. */
async function expectTypeRefused(fhir: FhirClient, type: string, id: string, status: number): Promise<void> {
  const label = (what: string): string => `${what} ${type}`;
  for (const [what, res] of [
    ['read', await fhir.get(`${type}/${id}`)],
    ['vread', await fhir.get(`${type}/${id}/_history/${randomUUID()}`)],
    ['instance history', await fhir.get(`${type}/${id}/_history`)],
    ['type history', await fhir.get(`${type}/_history`)],
    ['create', await fhir.post(type, { resourceType: type })],
    ['update', await fhir.put(`${type}/${id}`, { resourceType: type, id })],
    ['patch', await fhir.patch(`${type}/${id}`, [{ op: 'add', path: '/meta', value: {} }])],
    ['delete', await fhir.delete(`${type}/${id}`)],
  ] as const) {
    assert.equal(expectOutcome(res, status), 'forbidden', label(what));
  }
}

describe('types a member may not touch through FHIR', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('a non-admin member gets 403 on every admin-only type, and sees none in system history', async () => {
    const admin = await createMember(server);
    const member = await createMember(server, { admin: false, projectId: admin.projectId });
    const fhir = fhirClient(server, member.token);
    const rows = await countRows(server, admin.projectId);
    const ids: Record<string, string> = { Project: admin.projectId, ProjectMembership: member.membershipId, User: member.userId };
    for (const type of ADMIN_TYPES) {
      await expectTypeRefused(fhir, type, ids[type] ?? randomUUID(), 403);
    }
    assert.deepEqual(await countRows(server, admin.projectId), rows);
    const seen = historyRefs(await fhir.get('_history'));
    assert.deepEqual(seen.filter((ref) => ADMIN_TYPES.includes(ref.split('/')[0] as string)), []);
    // The same member still reads clinical data, and the admin still reads the Project.
    assert.equal((await fhir.get(member.profile)).status, 200);
    const adminFhir = fhirClient(server, admin.token);
    assert.equal((await adminFhir.get(`Project/${admin.projectId}`)).status, 200);
    assert.ok(historyRefs(await adminFhir.get('_history')).includes(`ProjectMembership/${member.membershipId}`));
  });

  it('nobody, not even a super admin, reaches Login, JsonWebKey or the other server-only types', async () => {
    const admin = await createMember(server);
    const superAdmin = await createMember(server, { superAdmin: true });
    for (const who of [admin, superAdmin]) {
      const fhir = fhirClient(server, who.token);
      for (const type of SERVER_TYPES) {
        await expectTypeRefused(fhir, type, type === 'Login' ? who.loginId : randomUUID(), 403);
      }
      const seen = historyRefs(await fhir.get('_history'));
      assert.deepEqual(seen.filter((ref) => SERVER_TYPES.includes(ref.split('/')[0] as string)), []);
    }
  });

  it('never shows a User\'s passwordHash or mfaSecret, and a client cannot set or probe them', async () => {
    const superAdmin = await createMember(server, { superAdmin: true });
    const fhir = fhirClient(server, superAdmin.token);
    const system = new SystemRepository(server.deps);
    const scope = systemScope(superAdmin.projectId);
    const passwordHash = `$argon2id$v=19$m=19456,t=2,p=1$${randomUUID()}`;
    const mfaSecret = `MFA${randomUUID().replace(/-/g, '').toUpperCase()}`;
    const user = await system.create<User>(scope, { resourceType: 'User', firstName: 'Secret', lastName: 'Keeper', email: `${randomUUID()}@example.com`, passwordHash, mfaSecret });
    const leaks = (res: Response): boolean => JSON.stringify(res.body).includes(passwordHash) || JSON.stringify(res.body).includes(mfaSecret);

    const read = await fhir.get(`User/${user.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.email, user.email);
    for (const res of [
      read,
      await fhir.get(`User/${user.id}/_history/${user.meta?.versionId}`),
      await fhir.get(`User/${user.id}/_history`),
      await fhir.get('User/_history'),
      await fhir.get('_history'),
    ]) {
      assert.equal(res.status, 200);
      assert.equal(leaks(res), false, JSON.stringify(res.body));
      assert.equal(JSON.stringify(res.body).includes('passwordHash'), false);
    }

    // A PATCH cannot test a guess against the stored hash: it patches what the client may see.
    expectOutcome(await fhir.patch(`User/${user.id}`, [{ op: 'test', path: '/passwordHash', value: passwordHash }]), 400);
    // Writes that carry the secret fields keep the stored ones and answer without them.
    const patched = await fhir.patch(`User/${user.id}`, [{ op: 'add', path: '/passwordHash', value: 'chosen-by-client' }, { op: 'replace', path: '/firstName', value: 'Patched' }]);
    assert.equal(patched.status, 200);
    assert.equal(patched.body.passwordHash, undefined);
    const put = await fhir.put(`User/${user.id}`, { ...patched.body, passwordHash: 'chosen-by-client', mfaSecret: 'chosen' });
    assert.equal(put.status, 200);
    assert.equal(leaks(put) || 'passwordHash' in put.body || 'mfaSecret' in put.body, false);
    const stored = await system.read<User>(scope, 'User', user.id);
    assert.equal(stored?.passwordHash, passwordHash);
    assert.equal(stored?.mfaSecret, mfaSecret);
    assert.equal(stored?.firstName, 'Patched');
    // A new User made through FHIR gets no secret from the client.
    const created = await fhir.post('User', { resourceType: 'User', firstName: 'New', lastName: 'User', email: `${randomUUID()}@example.com`, passwordHash: 'chosen-by-client' });
    assert.equal(created.status, 201);
    assert.equal((await system.read<User>(scope, 'User', created.body.id))?.passwordHash, undefined);
  });
});
