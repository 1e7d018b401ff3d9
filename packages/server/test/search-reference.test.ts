/**
 * Reference search (https://hl7.org/fhir/R4/search.html#reference): Type/id, a bare id, our
 * own absolute URL, someone else's URL, :[type] and :missing; Medplum's ProjectMembership
 * parameters, which only an admin may search.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Observation, Patient } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { createMember, fhirClient } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { searchProject, sorted, type SearchProject } from './search-helpers.js';

describe('search: reference parameters', () => {
  let server: TestServer;
  let p: SearchProject;
  let alice: Patient & { id: string };
  let bob: Patient & { id: string };
  let ofAlice: Observation & { id: string };
  let ofBob: Observation & { id: string };
  let ofGroup: Observation & { id: string };
  let external: Observation & { id: string };
  let noSubject: Observation & { id: string };

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    alice = await p.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Alice' }] });
    bob = await p.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Bob' }] });
    const obs = (subject?: string): Observation => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...(subject ? { subject: { reference: subject } } : {}) });
    ofAlice = await p.create(obs(`Patient/${alice.id}`));
    ofBob = await p.create(obs(`Patient/${bob.id}/_history/1`));
    ofGroup = await p.create(obs(`Group/${alice.id}`));
    external = await p.create(obs('http://elsewhere.example/fhir/Patient/42'));
    noSubject = await p.create(obs());
  });
  after(() => server.close());

  it('matches Type/id, and a versioned reference by its resource', async () => {
    assert.deepEqual(await p.ids(`Observation?subject=Patient/${alice.id}`), [ofAlice.id]);
    assert.deepEqual(await p.ids(`Observation?subject=Patient/${bob.id}`), [ofBob.id]);
    assert.deepEqual(await p.ids(`Observation?patient=Patient/${alice.id}`), [ofAlice.id]);
  });

  it('a bare id matches any target type; :[type] narrows it', async () => {
    assert.deepEqual(await p.ids(`Observation?subject=${alice.id}`), sorted(ofAlice.id, ofGroup.id));
    assert.deepEqual(await p.ids(`Observation?subject:Patient=${alice.id}`), [ofAlice.id]);
    assert.deepEqual(await p.ids(`Observation?subject:Group=${alice.id}`), [ofGroup.id]);
    expectOutcome(await p.fhir.get(`Observation?subject:Organization=${alice.id}`), 400, 'subject:Organization');
  });

  it('our own absolute URL is the same as Type/id; another server\'s matches as written', async () => {
    assert.deepEqual(await p.ids(`Observation?subject=${encodeURIComponent(`${server.fhirUrl}Patient/${alice.id}`)}`), [ofAlice.id]);
    assert.deepEqual(await p.ids(`Observation?subject=${encodeURIComponent('http://elsewhere.example/fhir/Patient/42')}`), [external.id]);
    assert.deepEqual(await p.ids('Observation?subject=42'), []);
  });

  it(':missing, and OR over values', async () => {
    assert.deepEqual(await p.ids('Observation?subject:missing=true'), [noSubject.id]);
    assert.equal((await p.ids('Observation?subject:missing=false')).length, 4);
    assert.deepEqual(await p.ids(`Observation?subject=Patient/${alice.id},Patient/${bob.id}`), sorted(ofAlice.id, ofBob.id));
  });

  it('refuses unsupported reference modifiers, and chains on a parameter that is not a reference', async () => {
    expectOutcome(await p.fhir.get('Observation?subject:identifier=urn:x|1'), 400, 'subject:identifier');
    expectOutcome(await p.fhir.get('Observation?status.name=alice'), 400, 'status.name');
  });
});

describe('search: Medplum ProjectMembership parameters', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('an admin finds memberships by user, profile and project', async () => {
    const admin = await createMember(server);
    const fhir = fhirClient(server, admin.token);
    const byUser = await fhir.get(`ProjectMembership?user=User/${admin.userId}`);
    assert.equal(byUser.status, 200, JSON.stringify(byUser.body));
    assert.deepEqual(byUser.body.entry.map((e: any) => e.resource.id), [admin.membershipId]);
    const byProfile = await fhir.get(`ProjectMembership?profile=${admin.profile}`);
    assert.deepEqual(byProfile.body.entry.map((e: any) => e.resource.id), [admin.membershipId]);
    const byProject = await fhir.get(`ProjectMembership?project=Project/${admin.projectId}&profile-type=Practitioner`);
    assert.deepEqual(byProject.body.entry.map((e: any) => e.resource.id), [admin.membershipId]);
  });

  it('a member who is not an admin gets 403', async () => {
    const admin = await createMember(server);
    const member = await createMember(server, { projectId: admin.projectId, admin: false });
    expectOutcome(await fhirClient(server, member.token).get('ProjectMembership?user=x'), 403);
    expectOutcome(await fhirClient(server, member.token).get('ProjectMembership'), 403);
  });

  it('the server\'s own types cannot be searched by anyone', async () => {
    const admin = await createMember(server);
    expectOutcome(await fhirClient(server, admin.token).get('Login'), 403);
    expectOutcome(await fhirClient(server, admin.token).get('NotAType?x=1'), 404);
  });
});
