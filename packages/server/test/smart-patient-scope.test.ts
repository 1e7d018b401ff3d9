/**
 * SMART `patient/` scopes (issue 4): a token obtained through the real authorize + token flow
 * by a member whose profile is a Patient reaches only that patient's compartment, on every path
 * (reads, searches, includes, chains, `_has`, compartment search, `$everything`, history,
 * batch, writes); types with no compartment link reach nothing; without a launch patient a
 * `patient/` scope grants nothing; scopes are a union per type and interaction; and they
 * narrow the member's access policy, never widen it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccessPolicy, Encounter, Medication, Observation, Organization, Patient, Practitioner, ProjectMembership, Resource, User } from '@medplum/fhirtypes';
import { SYSTEM_PROJECT_ID, systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { fhirClient, type FhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { authorizeUrl, memberWithPassword, PASSWORD, pkcePair, REDIRECT_URI, redirectParams, registerClient, ScriptedBrowser, tokenRequest, type RegisteredClient } from './oauth-fixtures.js';
import { assertAbsent, bundleIds, observation, sorted, type Stored } from './policy-fixture.js';

describe('SMART patient/ scopes narrow to the launch patient', () => {
  let server: TestServer;
  let admin: TestMember;
  let adminFhir: FhirClient;
  let app: RegisteredClient;
  let alice: Stored<Patient>;
  let bob: Stored<Patient>;
  let doctor: Stored<Practitioner>;
  let obsAlice: Stored<Observation>;
  let obsBob: Stored<Observation>;
  let encBob: Stored<Encounter>;
  let aliceEmail: string;
  let bobsIds: string[];

  async function post<T extends Resource>(resource: T): Promise<Stored<T>> {
    const res = await adminFhir.post(resource.resourceType, resource);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as Stored<T>;
  }

  /** A User with PASSWORD and a membership of the project with `profile`; its email. */
  async function signInMember(profile: Resource, fields: Partial<ProjectMembership> = {}): Promise<string> {
    const system = new SystemRepository(server.deps);
    const email = `patient-scope-${server.deps.random.uuid()}@example.com`;
    const user = await system.create<User>(systemScope(SYSTEM_PROJECT_ID), { resourceType: 'User', firstName: 'Pat', lastName: 'Scope', email, passwordHash: await server.deps.hasher.hash(PASSWORD) });
    await system.create<ProjectMembership>(systemScope(admin.projectId), {
      resourceType: 'ProjectMembership',
      project: { reference: `Project/${admin.projectId}` },
      user: { reference: `User/${user.id}` },
      profile: { reference: `${profile.resourceType}/${profile.id}` },
      active: true,
      ...fields,
    });
    return email;
  }

  /** The authorize + token flow, as an app does it; the token response's `patient` checked. */
  async function tokenFor(email: string, scope: string, patient?: string): Promise<FhirClient> {
    const { verifier, challenge } = pkcePair();
    const landed = await new ScriptedBrowser(server).signIn(authorizeUrl(server, { client_id: app.id, scope, code_challenge: challenge, code_challenge_method: 'S256' }), email);
    const code = redirectParams(landed).get('code') as string;
    const res = await tokenRequest(server, { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: app.id, redirect_uri: REDIRECT_URI });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.scope, scope);
    assert.equal(res.body.patient, patient);
    return fhirClient(server, res.body.access_token);
  }

  before(async () => {
    server = await startTestServer();
    admin = await memberWithPassword(server);
    adminFhir = fhirClient(server, admin.token);
    app = await registerClient(server, admin);
    alice = await post<Patient>({ resourceType: 'Patient', name: [{ given: ['Alice'], family: 'Ownrecord' }] });
    bob = await post<Patient>({ resourceType: 'Patient', name: [{ given: ['Bob'], family: 'Otherpatient' }] });
    doctor = await post<Practitioner>({ resourceType: 'Practitioner', name: [{ family: 'Doctor' }] });
    obsAlice = await post(observation(alice, { performer: [{ reference: `Practitioner/${doctor.id}` }] }));
    obsBob = await post(observation(bob, { performer: [{ reference: `Practitioner/${doctor.id}` }] }));
    encBob = await post<Encounter>({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${bob.id}` } });
    await post<Organization>({ resourceType: 'Organization', name: 'Clinic' });
    await post<Medication>({ resourceType: 'Medication', code: { text: 'aspirin' } });
    aliceEmail = await signInMember(alice);
    bobsIds = [bob.id, obsBob.id, encBob.id, 'Otherpatient'];
  });
  after(() => server.close());

  it('reads and searches only the launch patient\'s compartment, includes and chains too', async () => {
    const fhir = await tokenFor(aliceEmail, 'openid launch/patient patient/*.rs', alice.id);
    assert.equal((await fhir.get(`Patient/${alice.id}`)).status, 200);
    const random = await fhir.get(`Observation/${server.deps.random.uuid()}`);
    for (const path of [`Patient/${bob.id}`, `Observation/${obsBob.id}`, `Encounter/${encBob.id}`, `Observation/${obsBob.id}/_history/${obsBob.meta?.versionId}`]) {
      const res = await fhir.get(path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.issue[0].code, random.body.issue[0].code, 'as a random id');
      assertAbsent(res.body, ['Otherpatient', 'subject']);
    }
    const checks: Array<[string, string[]]> = [
      ['Patient', [alice.id]],
      ['Observation', [obsAlice.id]],
      ['Encounter', []],
      ['Observation?_include=Observation:subject', sorted(obsAlice.id, alice.id)],
      ['Observation?_include=Observation:performer', [obsAlice.id]],
      ['Patient?_revinclude=Observation:subject&_revinclude=Encounter:subject', sorted(alice.id, obsAlice.id)],
      ['Observation?subject:Patient.name=Bob', []],
      ['Patient?_has:Observation:subject:status=final', [alice.id]],
      [`Patient/${alice.id}/Observation`, [obsAlice.id]],
    ];
    for (const [query, expected] of checks) {
      const res = await fhir.get(query);
      assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body).slice(0, 300)}`);
      assert.deepEqual(bundleIds(res.body), expected, query);
      assertAbsent(res.body, bobsIds, query);
    }
    assert.equal((await fhir.get('Observation?_summary=count')).body.total, 1);
    assert.equal((await fhir.get(`Patient/${bob.id}/Observation`)).status, 404);
    assert.equal((await fhir.get(`Patient/${bob.id}/$everything`)).status, 404);
    const everything = await fhir.get(`Patient/${alice.id}/$everything`);
    assert.deepEqual(bundleIds(everything.body), sorted(alice.id, obsAlice.id));
    assertAbsent(everything.body, bobsIds, '$everything');
  });

  it('history of the system, a type or another patient\'s resource holds nothing of others', async () => {
    const fhir = await tokenFor(aliceEmail, 'openid patient/*.rs', alice.id);
    for (const path of ['_history', 'Observation/_history', 'Patient/_history']) {
      const res = await fhir.get(path);
      assert.equal(res.status, 200, path);
      assertAbsent(res.body, bobsIds, path);
      assert.ok(!bundleIds(res.body).includes(doctor.id), path);
    }
    // Bob's Observation: an empty history, as a random id's (its id is only in the self link).
    const outside = await fhir.get(`Observation/${obsBob.id}/_history`);
    assert.deepEqual(outside.body.entry ?? [], []);
    assertAbsent(outside.body, [bob.id, 'Otherpatient']);
    assert.ok(bundleIds((await fhir.get('_history')).body).includes(obsAlice.id));
  });

  it('reaches nothing of types outside the Patient compartment', async () => {
    const fhir = await tokenFor(aliceEmail, 'openid patient/Practitioner.rs patient/Organization.rs patient/Medication.rs patient/Observation.rs', alice.id);
    for (const path of ['Practitioner', `Practitioner/${doctor.id}`, 'Organization', 'Medication']) {
      assert.equal((await fhir.get(path)).status, 403, path);
    }
    assert.deepEqual(bundleIds((await fhir.get('Observation?_include=Observation:performer')).body), [obsAlice.id]);
  });

  it('writes stay inside the compartment; batch entries are checked one by one', async () => {
    const fhir = await tokenFor(aliceEmail, 'openid patient/Observation.cruds', alice.id);
    const mine = await fhir.post('Observation', observation(alice, { code: { text: 'diary' } }));
    assert.equal(mine.status, 201);
    assert.equal((await fhir.post('Observation', observation(bob))).status, 403);
    assert.equal((await fhir.put(`Observation/${mine.body.id}`, { ...mine.body, subject: { reference: `Patient/${bob.id}` } })).status, 403);
    assert.equal((await fhir.put(`Observation/${obsBob.id}`, { ...obsBob, status: 'cancelled' })).status, 404);
    assert.equal((await fhir.patch(`Observation/${obsBob.id}`, [{ op: 'replace', path: '/status', value: 'cancelled' }])).status, 404);
    assert.equal((await fhir.delete(`Observation/${obsBob.id}`)).status, 404);
    assert.equal((await fhir.delete(`Observation?subject=Patient/${bob.id}`)).status, 200);
    assert.equal((await adminFhir.get(`Observation/${obsBob.id}`)).body.status, 'final');
    const batch = await fhir.post('', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'GET', url: `Observation/${obsBob.id}` } }, { request: { method: 'GET', url: 'Observation?code:text=heart' } }],
    });
    assert.match(batch.body.entry[0].response.status, /^404/);
    assert.deepEqual(bundleIds(batch.body.entry[1].resource), [obsAlice.id]);
    assert.equal((await fhir.delete(`Observation/${mine.body.id}`)).status, 200);
  });

  it('without a launch patient, patient/ scopes grant nothing; user/ and scope-less tokens are unchanged', async () => {
    // The admin's profile is a Practitioner: no patient context.
    const noPatient = await tokenFor(admin.email, 'openid patient/*.rs');
    assert.equal((await noPatient.get('Observation')).status, 403);
    assert.equal((await noPatient.get(`Observation/${obsAlice.id}`)).status, 403);
    const user = await tokenFor(admin.email, 'openid user/*.rs');
    assert.deepEqual(bundleIds((await user.get('Observation')).body), sorted(obsAlice.id, obsBob.id));
    const plain = await tokenFor(aliceEmail, 'openid offline_access', alice.id);
    assert.deepEqual(bundleIds((await plain.get('Observation')).body), sorted(obsAlice.id, obsBob.id), 'a member without a policy, no resource scope');
  });

  it('is a union per type and interaction: a user/ scope on a type is not narrowed, others are', async () => {
    const mixed = await tokenFor(aliceEmail, 'openid patient/*.rs user/Observation.rs', alice.id);
    assert.deepEqual(bundleIds((await mixed.get('Observation')).body), sorted(obsAlice.id, obsBob.id));
    assert.equal((await mixed.get(`Encounter/${encBob.id}`)).status, 404);
    assert.deepEqual(bundleIds((await mixed.get('Patient')).body), [alice.id]);
    // Read is wide, search is not: the letters are told apart.
    const readWide = await tokenFor(aliceEmail, 'openid patient/Observation.rs user/Observation.r', alice.id);
    assert.equal((await readWide.get(`Observation/${obsBob.id}`)).status, 200);
    assert.deepEqual(bundleIds((await readWide.get('Observation')).body), [obsAlice.id]);
  });

  it('narrows the member\'s access policy, never widens it', async () => {
    const policy = await post<AccessPolicy>({
      resourceType: 'AccessPolicy',
      resource: [{ resourceType: 'Observation', criteria: 'Observation?status=amended' }, { resourceType: 'Patient' }],
    });
    const amended = await post(observation(alice, { status: 'amended' }));
    await post(observation(bob, { status: 'amended' }));
    const email = await signInMember(alice, { accessPolicy: { reference: `AccessPolicy/${policy.id}` } });
    const fhir = await tokenFor(email, 'openid patient/*.rs', alice.id);
    assert.deepEqual(bundleIds((await fhir.get('Observation')).body), [amended.id]);
    assert.deepEqual(bundleIds((await fhir.get('Patient')).body), [alice.id]);
    assert.equal((await fhir.get('Encounter')).status, 403, 'the policy grants no Encounter');
    const wide = await tokenFor(email, 'openid user/*.rs', alice.id);
    assert.equal(bundleIds((await wide.get('Observation')).body).length, 2, 'user/ scopes leave the policy as it is');
  });
});
