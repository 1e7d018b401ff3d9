/**
 * Includes and tenancy or access: a project's `_include`/`_revinclude` never brings in another
 * project's resources, even when a reference names an id that exists only there or in both;
 * a member who is not an admin never gets admin-only types through an include (403 when the
 * parameter names one, left out by the query when `*` or an untyped reference would reach one).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Observation, Patient, Resource, Subscription, User } from '@medplum/fhirtypes';
import { systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { expectOutcome } from './expect-outcome.js';
import { createMember, fhirClient } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { searchProject, type SearchBundle, type SearchProject } from './search-helpers.js';

function included(bundle: SearchBundle): string[] {
  return (bundle.entry ?? []).filter((e) => e.search.mode === 'include').map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();
}

const observation = (reference: string, extra: Partial<Observation> = {}): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'x' },
  subject: { reference },
  ...extra,
});

describe('search includes: tenancy', () => {
  let server: TestServer;
  let a: SearchProject;
  let b: SearchProject;
  let patientA: Patient & { id: string };

  before(async () => {
    server = await startTestServer();
    a = await searchProject(server);
    b = await searchProject(server);
    patientA = await a.create<Patient>({ resourceType: 'Patient', name: [{ family: 'OnlyInA' }] });
  });
  after(() => server.close());

  it("a reference to an id that exists only in another project includes nothing", async () => {
    const obsB = await b.create(observation(`Patient/${patientA.id}`));
    const bundle = await b.search(`Observation?_id=${obsB.id}&_include=Observation:subject&_include=*`);
    assert.deepEqual(included(bundle), []);
    // And A's Patient does not gain B's Observation as a revinclude.
    assert.deepEqual(included(await a.search(`Patient?_id=${patientA.id}&_revinclude=Observation:subject&_revinclude=*`)), []);
  });

  it('with the same id in both projects, each includes its own', async () => {
    const put = await b.fhir.put(`Patient/${patientA.id}`, { resourceType: 'Patient', id: patientA.id, name: [{ family: 'TwinInB' }] });
    assert.equal(put.status, 201);
    const obsA = await a.create(observation(`Patient/${patientA.id}`));
    const forB = await b.search(`Observation?subject=Patient/${patientA.id}&_include=Observation:subject`);
    const patientInB = forB.entry?.find((e) => e.search.mode === 'include')?.resource as Patient;
    assert.equal(patientInB.name?.[0]?.family, 'TwinInB');
    const fromA = await a.search(`Patient?_id=${patientA.id}&_revinclude=Observation:subject`);
    assert.deepEqual(included(fromA), [`Observation/${obsA.id}`]);
    const fromB = await b.search(`Patient?_id=${patientA.id}&_revinclude=Observation:subject`);
    assert.ok(!included(fromB).includes(`Observation/${obsA.id}`));
  });
});

describe('search includes: admin-only types', () => {
  let server: TestServer;
  let admin: SearchProject;
  let member: ReturnType<typeof fhirClient>;
  let subscription: Subscription & { id: string };
  let focused: Observation & { id: string };

  before(async () => {
    server = await startTestServer();
    admin = await searchProject(server);
    const nonAdmin = await createMember(server, { projectId: admin.member.projectId, admin: false });
    member = fhirClient(server, nonAdmin.token);
    subscription = await admin.create<Subscription>({
      resourceType: 'Subscription',
      status: 'off',
      reason: 'test',
      criteria: 'Patient',
      channel: { type: 'rest-hook', endpoint: 'https://example.com/hook' },
    });
    const patient = await admin.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Focus' }] });
    focused = await admin.create(observation(`Patient/${patient.id}`, { focus: [{ reference: `Subscription/${subscription.id}` }] }));
  });
  after(() => server.close());

  const search = async (query: string): Promise<SearchBundle> => {
    const res = await member.get<SearchBundle>(query);
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 400));
    return res.body;
  };

  it('an admin includes them', async () => {
    assert.deepEqual(included(await admin.search(`Observation?_id=${focused.id}&_include=Observation:focus`)), [`Subscription/${subscription.id}`]);
    // The admin's own membership points at the admin's Practitioner profile.
    const memberships = included(await admin.search(`Practitioner?_id=${admin.member.profile.split('/')[1]}&_revinclude=*`));
    assert.deepEqual(memberships, [`ProjectMembership/${admin.member.membershipId}`]);
    assert.deepEqual(included(await admin.search('Practitioner?_revinclude=ProjectMembership:profile')).length, 2);
  });

  it('a member who is not an admin: an untyped reference or * leaves them out, in the query', async () => {
    const viaFocus = await search(`Observation?_id=${focused.id}&_include=Observation:focus&_include=*`);
    assert.deepEqual(viaFocus.entry?.map((e) => e.resource.resourceType).sort(), ['Observation', 'Patient']);
    const reverse = await search('Practitioner?_revinclude=*');
    assert.deepEqual(included(reverse), []);
    assert.equal(reverse.entry?.length, 2, 'both members\' Practitioners match, nothing is included');
  });

  it('a member who is not an admin: naming one is a 403, like searching it', async () => {
    expectOutcome(await member.get('Practitioner?_revinclude=ProjectMembership:profile'), 403, '_revinclude');
    expectOutcome(await member.get('Observation?_include=Observation:focus:Subscription'), 403, '_include');
    expectOutcome(await member.get('Patient?_include:iterate=ProjectMembership:profile'), 403, '_include:iterate');
    expectOutcome(await member.get('ProjectMembership'), 403);
  });

  it('an included User never carries its secrets', async () => {
    const system = new SystemRepository(server.deps);
    const user = await system.create<User>(systemScope(admin.member.projectId), {
      resourceType: 'User',
      firstName: 'Project',
      lastName: 'Scoped',
      email: `scoped-${Date.now()}@example.com`,
      passwordHash: 'not-to-be-seen',
    });
    const pointer = await admin.create(observation(`User/${user.id}`, { focus: [{ reference: `User/${user.id}` }] }));
    const bundle = await admin.search(`Observation?_id=${pointer.id}&_include=Observation:focus`);
    const found = bundle.entry?.find((e) => e.search.mode === 'include')?.resource as Resource & Record<string, unknown>;
    assert.equal(found?.resourceType, 'User');
    assert.equal(found.passwordHash, undefined);
    // The members' own Users live in the server's project: no include reaches them.
    assert.deepEqual(included(await admin.search(`ProjectMembership?_id=${admin.member.membershipId}&_include=ProjectMembership:user`)), []);
  });
});
