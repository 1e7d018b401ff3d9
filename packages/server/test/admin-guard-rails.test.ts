/**
 * Guard rails the user-management guide only warns about, enforced through /fhir/R4:
 * a profile that an active membership uses cannot be deleted (REST, conditional delete,
 * batch and transaction entries), ProjectMembership, User and Project are changed only
 * through the admin API, a member never edits its own membership, and a non-admin cannot
 * create the configuration types (AccessPolicy, ClientApplication, Bot, Subscription).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Patient, ProjectMembership, User } from '@medplum/fhirtypes';
import { SYSTEM_PROJECT_ID, systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type FhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

function bundle(type: 'batch' | 'transaction', entry: unknown[]): unknown {
  return { resourceType: 'Bundle', type, entry };
}

describe('guard rails on /fhir/R4', () => {
  let server: TestServer;
  let owner: TestMember;
  let admin: FhirClient;

  before(async () => {
    server = await startTestServer();
    owner = await createMember(server);
    admin = fhirClient(server, owner.token);
  });
  after(() => server.close());

  /** A Patient used as the profile of a new membership of the owner's project. */
  async function patientMember(active = true): Promise<{ patient: Patient & { id: string }; membership: ProjectMembership & { id: string } }> {
    const system = new SystemRepository(server.deps);
    const scope = systemScope(owner.projectId);
    const patient = await system.create<Patient>(scope, { resourceType: 'Patient', name: [{ family: 'Guarded' }], identifier: [{ system: 'urn:guard', value: server.deps.random.uuid() }] });
    const user = await system.create<User>(systemScope(SYSTEM_PROJECT_ID), { resourceType: 'User', firstName: 'Pat', lastName: 'Guarded', email: `guarded-${patient.id}@example.com` });
    const membership = await system.create<ProjectMembership>(scope, {
      resourceType: 'ProjectMembership',
      project: { reference: `Project/${owner.projectId}` },
      user: { reference: `User/${user.id}` },
      profile: { reference: `Patient/${patient.id}` },
      active,
    });
    return { patient, membership };
  }

  async function expectConflict(res: Awaited<ReturnType<FhirClient['get']>>, membershipId: string): Promise<void> {
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.match(JSON.stringify(res.body), new RegExp(`ProjectMembership/${membershipId}`));
  }

  it('refuses to delete a profile in use (409 naming the membership), by id, conditionally, in a batch and a transaction', async () => {
    const { patient, membership } = await patientMember();
    const practitionerId = owner.profile.split('/')[1] as string;
    const before = await countRows(server, owner.projectId);

    const byId = await admin.delete(`Patient/${patient.id}`);
    expectOutcome(byId, 409, `ProjectMembership/${membership.id}`);
    await expectConflict(await admin.delete(owner.profile), owner.membershipId);
    await expectConflict(await admin.delete(`Patient?identifier=${patient.identifier?.[0]?.system}|${patient.identifier?.[0]?.value}`), membership.id);
    await expectConflict(await admin.delete(`Practitioner?_id=${practitionerId}`), owner.membershipId);

    const batch = await admin.post<{ entry: Array<{ response: { status: string; outcome?: unknown } }> }>('', bundle('batch', [{ request: { method: 'DELETE', url: `Patient/${patient.id}` } }]));
    assert.equal(batch.status, 200);
    assert.match(batch.body.entry[0]?.response.status ?? '', /^409/);
    assert.match(JSON.stringify(batch.body.entry[0]?.response.outcome), new RegExp(`ProjectMembership/${membership.id}`));

    const other = await admin.post<Patient>('Patient', { resourceType: 'Patient', name: [{ family: 'Bystander' }] });
    const afterCreate = await countRows(server, owner.projectId);
    const transaction = await admin.post('', bundle('transaction', [
      { request: { method: 'DELETE', url: `Patient/${other.body.id}` } },
      { request: { method: 'DELETE', url: `Patient/${patient.id}` } },
    ]));
    await expectConflict(transaction, membership.id);
    assert.deepEqual(await countRows(server, owner.projectId), afterCreate, 'the whole transaction is undone');
    assert.equal((await admin.get(`Patient/${other.body.id}`)).status, 200);
    assert.equal((await admin.get(`Patient/${patient.id}`)).status, 200);
    assert.deepEqual({ ...before, resources: before.resources + 1, history: before.history + 1 }, afterCreate, 'only the bystander was written');
  });

  it('lets the profile go once the membership is removed or inactive', async () => {
    const { patient, membership } = await patientMember();
    const removed = await admin.delete(`/admin/projects/${owner.projectId}/members/${membership.id}`);
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.equal((await admin.delete(`Patient/${patient.id}`)).status, 200);

    const inactive = await patientMember(false);
    assert.equal((await admin.delete(`Patient/${inactive.patient.id}`)).status, 200);
    // Reactivating a membership whose profile is gone is refused.
    const current = (await admin.get<ProjectMembership>(`/admin/projects/${owner.projectId}/members/${inactive.membership.id}`)).body;
    expectOutcome(await admin.post(`/admin/projects/${owner.projectId}/members/${inactive.membership.id}`, { ...current, active: true }), 409, 'active');
  });

  it('a project admin cannot create, change or delete ProjectMembership, User or Project through FHIR (403, nothing written)', async () => {
    const member = await createMember(server, { projectId: owner.projectId, admin: false });
    const membership = (await admin.get<ProjectMembership & { id: string }>(`ProjectMembership/${member.membershipId}`)).body;
    const user = (await admin.get(`User/${owner.userId}`)).body;
    const project = (await admin.get(`Project/${owner.projectId}`)).body;
    assert.equal(membership.resourceType, 'ProjectMembership', 'admins read them');
    const before = await countRows(server, owner.projectId);
    const attempts = [
      admin.post('ProjectMembership', { ...membership, id: undefined, admin: true }),
      admin.put(`ProjectMembership/${membership.id}`, { ...membership, admin: true }),
      admin.patch(`ProjectMembership/${membership.id}`, [{ op: 'replace', path: '/admin', value: true }]),
      admin.delete(`ProjectMembership/${membership.id}`),
      admin.delete(`ProjectMembership?_id=${membership.id}`),
      admin.post('User', { resourceType: 'User', firstName: 'New', lastName: 'User', email: 'new-user@example.com' }),
      admin.put(`User/${owner.userId}`, { ...user, firstName: 'Changed' }),
      admin.patch(`User/${owner.userId}`, [{ op: 'replace', path: '/email', value: 'stolen@example.com' }]),
      admin.delete(`User/${owner.userId}`),
      admin.post('Project', { resourceType: 'Project', name: 'Another' }),
      admin.put(`Project/${owner.projectId}`, { ...project, name: 'Renamed' }),
      admin.patch(`Project/${owner.projectId}`, [{ op: 'replace', path: '/name', value: 'Renamed' }]),
      admin.delete(`Project/${owner.projectId}`),
    ];
    for (const res of await Promise.all(attempts)) expectOutcome(res, 403);
    const transaction = await admin.post('', bundle('transaction', [
      { request: { method: 'PUT', url: `ProjectMembership/${membership.id}` }, resource: { ...membership, admin: true } },
    ]));
    assert.equal(transaction.status, 403, JSON.stringify(transaction.body));
    const transactionPatch = await admin.post('', bundle('transaction', [
      {
        request: { method: 'PATCH', url: `ProjectMembership/${membership.id}` },
        resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify([{ op: 'replace', path: '/admin', value: true }])).toString('base64') },
      },
    ]));
    assert.equal(transactionPatch.status, 403, JSON.stringify(transactionPatch.body));
    const batch = await admin.post<{ entry: Array<{ response: { status: string } }> }>('', bundle('batch', [
      { request: { method: 'POST', url: 'ProjectMembership' }, resource: { ...membership, id: undefined } },
      { request: { method: 'DELETE', url: `Project/${owner.projectId}` } },
    ]));
    assert.deepEqual(batch.body.entry.map((e) => e.response.status.slice(0, 3)), ['403', '403']);
    assert.deepEqual(await countRows(server, owner.projectId), before);
    assert.equal((await admin.get<ProjectMembership>(`ProjectMembership/${member.membershipId}`)).body.admin, false);
  });

  it('a member never edits its own membership nor promotes itself', async () => {
    const member = await createMember(server, { projectId: owner.projectId, admin: false });
    const client = fhirClient(server, member.token);
    const before = await countRows(server, owner.projectId);
    const own = { resourceType: 'ProjectMembership', id: member.membershipId, project: { reference: `Project/${owner.projectId}` }, user: { reference: `User/${member.userId}` }, profile: { reference: member.profile }, admin: true };
    for (const res of [
      await client.get(`ProjectMembership/${member.membershipId}`),
      await client.put(`ProjectMembership/${member.membershipId}`, own),
      await client.patch(`ProjectMembership/${member.membershipId}`, [{ op: 'add', path: '/admin', value: true }]),
      await client.post('', bundle('transaction', [{ request: { method: 'PUT', url: `ProjectMembership/${member.membershipId}` }, resource: own }])),
      await client.post(`/admin/projects/${owner.projectId}/members/${member.membershipId}`, own),
      await client.delete(`/admin/projects/${owner.projectId}/members/${member.membershipId}`),
    ]) {
      assert.equal(res.status, 403, JSON.stringify(res.body));
    }
    assert.deepEqual(await countRows(server, owner.projectId), before);
    assert.equal((await client.get('AccessPolicy')).status, 403, 'still not an admin');
  });

  it('a non-admin cannot create AccessPolicy, ClientApplication, Bot or Subscription (403, nothing written)', async () => {
    const member = await createMember(server, { projectId: owner.projectId, admin: false });
    const client = fhirClient(server, member.token);
    const before = await countRows(server, owner.projectId);
    const resources = [
      { resourceType: 'AccessPolicy', name: 'Everything', resource: [{ resourceType: '*' }] },
      { resourceType: 'ClientApplication', name: 'Sneaky', secret: 'x'.repeat(32) },
      { resourceType: 'Bot', name: 'Sneaky bot' },
      { resourceType: 'Subscription', status: 'active', reason: 'exfiltrate', criteria: 'Patient', channel: { type: 'rest-hook', endpoint: 'http://169.254.169.254/' } },
    ];
    for (const resource of resources) {
      expectOutcome(await client.post(resource.resourceType, resource), 403);
      const tx = await client.post('', bundle('transaction', [{ request: { method: 'POST', url: resource.resourceType }, resource }]));
      assert.equal(tx.status, 403, JSON.stringify(tx.body));
    }
    // Nor change one the admin made.
    const policy = (await admin.post('AccessPolicy', resources[0])).body;
    const afterAdmin = await countRows(server, owner.projectId);
    expectOutcome(await client.put(`AccessPolicy/${policy.id}`, { ...policy, name: 'Mine now' }), 403);
    expectOutcome(await client.patch(`AccessPolicy/${policy.id}`, [{ op: 'replace', path: '/name', value: 'Mine now' }]), 403);
    expectOutcome(await client.delete(`AccessPolicy/${policy.id}`), 403);
    assert.deepEqual(await countRows(server, owner.projectId), afterAdmin);
    assert.equal(afterAdmin.resources, before.resources + 1, 'only the admin’s policy was written');
  });
});
