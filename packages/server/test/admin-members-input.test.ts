/**
 * Bad input to the member routes: each is a 400 (or 404/409) OperationOutcome naming the
 * field, and writes nothing (rows of the project counted before and after).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccessPolicy, ProjectMembership } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type FhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

describe('admin API: bad input to the member routes', () => {
  let server: TestServer;
  let owner: TestMember;
  let member: TestMember;
  let admin: FhirClient;
  let current: ProjectMembership & { id: string };
  let foreignPolicy: AccessPolicy & { id: string };
  let deletedPolicy: AccessPolicy & { id: string };

  before(async () => {
    server = await startTestServer();
    owner = await createMember(server);
    member = await createMember(server, { projectId: owner.projectId, admin: false });
    admin = fhirClient(server, owner.token);
    current = (await admin.get(`/admin/projects/${owner.projectId}/members/${member.membershipId}`)).body;
    const other = await createMember(server);
    foreignPolicy = (await fhirClient(server, other.token).post('AccessPolicy', { resourceType: 'AccessPolicy', name: 'Elsewhere', resource: [{ resourceType: 'Patient' }] })).body;
    deletedPolicy = (await admin.post('AccessPolicy', { resourceType: 'AccessPolicy', name: 'Gone', resource: [{ resourceType: 'Patient' }] })).body;
    assert.equal((await admin.delete(`AccessPolicy/${deletedPolicy.id}`)).status, 200);
  });
  after(() => server.close());

  const memberPath = () => `/admin/projects/${owner.projectId}/members/${member.membershipId}`;

  async function expectRefused(body: unknown, status: number, expression?: string): Promise<void> {
    const before = await countRows(server, owner.projectId);
    expectOutcome(await admin.post(memberPath(), body), status, expression);
    assert.deepEqual(await countRows(server, owner.projectId), before, `nothing written for ${JSON.stringify(body).slice(0, 200)}`);
  }

  it('refuses a body that is not this ProjectMembership', async () => {
    await expectRefused({ ...current, resourceType: 'Patient' }, 400, 'resourceType');
    const { resourceType: _t, ...noType } = current;
    await expectRefused(noType, 400, 'resourceType');
    await expectRefused({ ...current, id: owner.membershipId }, 400, 'id');
    const { id: _i, ...noId } = current;
    await expectRefused(noId, 400, 'id');
    await expectRefused([current], 400);
    await expectRefused('ProjectMembership', 400);
  });

  it('refuses to change project, user, profile or invitedBy, naming the field', async () => {
    const stranger = await createMember(server);
    await expectRefused({ ...current, project: { reference: `Project/${stranger.projectId}` } }, 400, 'project');
    await expectRefused({ ...current, user: { reference: `User/${owner.userId}` } }, 400, 'user');
    await expectRefused({ ...current, profile: { reference: owner.profile } }, 400, 'profile');
    await expectRefused({ ...current, profile: 'Practitioner/x' }, 400, 'profile');
    await expectRefused({ ...current, invitedBy: { reference: `User/${owner.userId}` } }, 400, 'invitedBy');
    await expectRefused({ ...current, identifier: [{ value: 'new' }] }, 400, 'identifier');
  });

  it('checks the type of every changeable field', async () => {
    await expectRefused({ ...current, admin: 'true' }, 400, 'admin');
    await expectRefused({ ...current, admin: null }, 400, 'admin');
    await expectRefused({ ...current, active: 1 }, 400, 'active');
    await expectRefused({ ...current, userName: 42 }, 400, 'userName');
    await expectRefused({ ...current, userName: '' }, 400, 'userName');
    await expectRefused({ ...current, externalId: ['a'] }, 400, 'externalId');
    await expectRefused({ ...current, userConfiguration: { reference: 'Patient/abc' } }, 400, 'userConfiguration.reference');
    await expectRefused({ ...current, accessPolicy: 'AccessPolicy/abc' }, 400, 'accessPolicy');
    await expectRefused({ ...current, accessPolicy: { reference: 'Patient/abc' } }, 400, 'accessPolicy.reference');
    await expectRefused({ ...current, access: { policy: { reference: 'AccessPolicy/abc' } } }, 400, 'access');
    await expectRefused({ ...current, access: [{ policy: { reference: 'AccessPolicy/abc' }, parameter: [{ value: 1 }] }] }, 400, 'access.0.parameter.0.name');
  });

  it('refuses an access policy of another project, an unknown or a deleted one', async () => {
    await expectRefused({ ...current, accessPolicy: { reference: `AccessPolicy/${foreignPolicy.id}` } }, 400, 'accessPolicy');
    await expectRefused({ ...current, accessPolicy: { reference: `AccessPolicy/${server.deps.random.uuid()}` } }, 400, 'accessPolicy');
    await expectRefused({ ...current, accessPolicy: { reference: `AccessPolicy/${deletedPolicy.id}` } }, 400, 'accessPolicy');
    await expectRefused({ ...current, access: [{ policy: { reference: `AccessPolicy/${foreignPolicy.id}` } }] }, 400, 'access.0.policy');
  });

  it('answers 404 for a membership the project does not have, and refuses a bad id', async () => {
    const before = await countRows(server, owner.projectId);
    const unknown = server.deps.random.uuid();
    expectOutcome(await admin.post(`/admin/projects/${owner.projectId}/members/${unknown}`, { ...current, id: unknown }), 404);
    expectOutcome(await admin.delete(`/admin/projects/${owner.projectId}/members/${unknown}`), 404);
    expectOutcome(await admin.post(`/admin/projects/${owner.projectId}/members/${unknown}/restore`, {}), 404);
    expectOutcome(await admin.get(`/admin/projects/${owner.projectId}/members/${'x'.repeat(65)}`), 400, 'id');
    assert.deepEqual(await countRows(server, owner.projectId), before);
  });

  it('refuses unknown or malformed list parameters, naming them', async () => {
    const list = (query: string) => admin.get(`/admin/projects/${owner.projectId}/members?${query}`);
    expectOutcome(await list('profileType=Organization'), 400, 'profileType');
    expectOutcome(await list('profileType=Patient&profileType=Bot'), 400, 'profileType');
    expectOutcome(await list('removed=yes'), 400, 'removed');
    expectOutcome(await list('_count=0'), 400, '_count');
    expectOutcome(await list('_count=1001'), 400, '_count');
    expectOutcome(await list('_count=ten'), 400, '_count');
    expectOutcome(await list('_cursor=%27%20OR%201%3D1'), 400, '_cursor');
    expectOutcome(await list('name=Ada'), 400, 'name');
  });
});
