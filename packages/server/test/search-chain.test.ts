/**
 * Chained parameters and reverse chaining (https://hl7.org/fhir/R4/search.html#chaining,
 * #has): one and two references deep, with and without a type modifier, modifiers on the last
 * parameter, `_has` and `_has` inside `_has`; what is refused (too deep, ambiguous, not a
 * reference); and that neither crosses projects nor reaches a type the caller may not read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DiagnosticReport, Encounter, Group, Observation, Organization, Patient, Resource } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { createMember, fhirClient } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { searchProject, sorted, type SearchProject } from './search-helpers.js';

type Stored<T extends Resource> = T & { id: string };
const ref = (r: Resource): string => `${r.resourceType}/${r.id}`;

describe('search: chains and _has', () => {
  let server: TestServer;
  let p: SearchProject;
  let acme: Stored<Organization>;
  let smith: Stored<Patient>;
  let jones: Stored<Patient>;
  let smithGroup: Stored<Group>;
  let obsSmith: Stored<Observation>;
  let obsJones: Stored<Observation>;
  let obsGroup: Stored<Observation>;
  let encSmith: Stored<Encounter>;
  let encJones: Stored<Encounter>;
  let report: Stored<DiagnosticReport>;

  const observation = (subject: Resource, code: string): Observation => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: ref(subject) },
  });

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    acme = await p.create<Organization>({ resourceType: 'Organization', name: 'Acme Health' });
    const other = await p.create<Organization>({ resourceType: 'Organization', name: 'Other Clinic' });
    smith = await p.create<Patient>({
      resourceType: 'Patient',
      name: [{ family: 'Smith', given: ['Anna'] }],
      identifier: [{ system: 'urn:mrn', value: '123' }],
      managingOrganization: { reference: ref(acme) },
    });
    jones = await p.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Jones' }], managingOrganization: { reference: ref(other) } });
    smithGroup = await p.create<Group>({ resourceType: 'Group', type: 'person', actual: true, name: 'Smith family' });
    obsSmith = await p.create(observation(smith, '1234-5'));
    obsJones = await p.create(observation(jones, '9999-9'));
    obsGroup = await p.create(observation(smithGroup, '1234-5'));
    const encounter = (subject: Resource): Encounter => ({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: ref(subject) } });
    encSmith = await p.create(encounter(smith));
    encJones = await p.create(encounter(jones));
    report = await p.create<DiagnosticReport>({
      resourceType: 'DiagnosticReport',
      status: 'final',
      code: { text: 'panel' },
      subject: { reference: ref(smith) },
      result: [{ reference: ref(obsSmith) }],
    });
  });
  after(() => server.close());

  it('one level, with a type modifier', async () => {
    assert.deepEqual(await p.ids('Observation?subject:Patient.name=smith'), [obsSmith.id]);
    assert.deepEqual(await p.ids('Observation?subject:Patient.family:exact=Smith'), [obsSmith.id]);
    assert.deepEqual(await p.ids('Observation?subject:Patient.family:exact=smith'), []);
    assert.deepEqual(await p.ids('DiagnosticReport?subject:Patient.identifier=urn:mrn|123'), [report.id]);
    assert.deepEqual(await p.ids(`Observation?subject:Patient._id=${jones.id}`), [obsJones.id]);
    assert.deepEqual(await p.ids('Observation?subject:Patient.name=smith,jones'), sorted(obsSmith.id, obsJones.id));
  });

  it('without a type modifier, every target type that has the parameter', async () => {
    // Observation.subject may be a Patient, Group, Device or Location; `name` is a string on three of them.
    assert.deepEqual(await p.ids('Observation?subject.name=smith'), sorted(obsSmith.id, obsGroup.id));
    assert.deepEqual(await p.ids('Observation?subject:Group.name=smith'), [obsGroup.id]);
  });

  it('two levels', async () => {
    assert.deepEqual(await p.ids('Encounter?subject.organization.name=acme'), [encSmith.id]);
    assert.deepEqual(await p.ids('Encounter?subject:Patient.organization:Organization.name=other'), [encJones.id]);
    assert.deepEqual(await p.ids(`Observation?subject:Patient.organization._id=${acme.id}`), [obsSmith.id]);
  });

  it('combines with other parameters, sorting and paging', async () => {
    assert.deepEqual(await p.ids('Observation?subject:Patient.name=smith,jones&code=http://loinc.org|9999-9'), [obsJones.id]);
    const page = await p.search('Observation?subject:Patient.name=smith,jones&_sort=-_id&_count=1&_total=accurate');
    assert.equal(page.total, 2);
    assert.match(page.link.find((l) => l.relation === 'next')?.url ?? '', /subject%3APatient\.name=smith%2Cjones/);
  });

  it('_has, and _has inside _has', async () => {
    assert.deepEqual(await p.ids('Patient?_has:Observation:patient:code=1234-5'), [smith.id]);
    assert.deepEqual(await p.ids('Patient?_has:Observation:subject:code=9999-9'), [jones.id]);
    assert.deepEqual(await p.ids('Group?_has:Observation:subject:code=1234-5'), [smithGroup.id]);
    assert.deepEqual(await p.ids('Patient?_has:Observation:patient:_has:DiagnosticReport:result:status=final'), [smith.id]);
    assert.deepEqual(await p.ids('Patient?_has:Encounter:subject:_id:not=' + encSmith.id), [jones.id]);
    assert.deepEqual(await p.ids('Organization?_has:Patient:organization:_has:Observation:patient:code=9999-9'), [(await p.ids('Organization?name=other'))[0] as string]);
  });

  it('a deleted target or referrer stops matching', async () => {
    const temp = await p.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Transient' }] });
    const tempObs = await p.create(observation(temp, '5555-5'));
    assert.deepEqual(await p.ids('Observation?subject:Patient.name=transient'), [tempObs.id]);
    assert.deepEqual(await p.ids('Patient?_has:Observation:patient:code=5555-5'), [temp.id]);
    assert.equal((await p.fhir.delete(`Observation/${tempObs.id}`)).status, 200);
    assert.deepEqual(await p.ids('Patient?_has:Observation:patient:code=5555-5'), []);
    assert.equal((await p.fhir.delete(`Patient/${temp.id}`)).status, 200);
    assert.deepEqual(await p.ids(`Observation?subject:Patient._id=${temp.id}`), []);
  });

  it('refuses what it cannot answer, naming the parameter', async () => {
    expectOutcome(await p.fhir.get('Observation?subject:Patient.organization.partof.name=x'), 400, 'subject:Patient.organization.partof.name');
    expectOutcome(await p.fhir.get('Observation?code.name=x'), 400, 'code.name');
    expectOutcome(await p.fhir.get('Observation?subject:Organization.name=x'), 400, 'subject:Organization.name');
    expectOutcome(await p.fhir.get('Observation?subject.shoe-size=x'), 400, 'subject.shoe-size');
    // `type` is a token on some of Observation.focus's targets and a uri on others.
    expectOutcome(await p.fhir.get('Observation?focus.type=x'), 400, 'focus.type');
    expectOutcome(await p.fhir.get('Patient?_has:Observation:code:code=x'), 400, '_has:Observation:code:code');
    expectOutcome(await p.fhir.get('Patient?_has:Observation:encounter:code=x'), 400, '_has:Observation:encounter:code');
    expectOutcome(await p.fhir.get('Patient?_has:Nothing:patient:code=x'), 400, '_has:Nothing:patient:code');
    expectOutcome(await p.fhir.get('Patient?_has:Observation:patient=x'), 400, '_has:Observation:patient');
    expectOutcome(await p.fhir.get('Patient?_has:Observation:patient:_has:DiagnosticReport:result:_has:Provenance:target:agent=x'), 400);
    // An unknown first parameter is an unknown parameter: lenient handling ignores it.
    expectOutcome(await p.fhir.get('Observation?nothing.name=x'), 400, 'nothing.name');
    assert.equal((await p.search('Observation?nothing.name=x', { prefer: 'handling=lenient' })).entry?.length, 3);
  });
});

describe('search: chains and _has across projects and types', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it("never follows a reference into another project's resource", async () => {
    const a = await searchProject(server);
    const b = await searchProject(server);
    const elsewhere = await a.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Elsewhere' }] });
    const inA = await a.create<Observation>({ resourceType: 'Observation', status: 'final', code: { text: 'a' }, subject: { reference: `Patient/${elsewhere.id}` } });
    await b.create<Observation>({ resourceType: 'Observation', status: 'final', code: { text: 'b' }, subject: { reference: `Patient/${elsewhere.id}` } });
    assert.deepEqual(await a.ids('Observation?subject:Patient.name=elsewhere'), [inA.id]);
    assert.deepEqual(await b.ids('Observation?subject:Patient.name=elsewhere'), []);
    assert.deepEqual(await b.ids(`Observation?subject:Patient._id=${elsewhere.id}`), []);
    assert.deepEqual(await b.ids('Patient?_has:Observation:subject:code:text=b'), []);
    assert.deepEqual(await a.ids('Patient?_has:Observation:subject:code:text=b'), []);
  });

  it('a member who is not an admin cannot chain into or _has from an admin-only type', async () => {
    const admin = await searchProject(server);
    const member = await createMember(server, { projectId: admin.member.projectId, admin: false });
    const fhir = fhirClient(server, member.token);
    const practitionerId = admin.member.profile.split('/')[1] as string;
    assert.deepEqual(await admin.ids('Practitioner?_has:ProjectMembership:profile:profile-type=Practitioner'), sorted(practitionerId, member.profile.split('/')[1] as string));
    expectOutcome(await fhir.get('Practitioner?_has:ProjectMembership:profile:profile-type=Practitioner'), 403, '_has:ProjectMembership:profile:profile-type');
    expectOutcome(await fhir.get('Observation?focus:Subscription.status=active'), 403, 'focus:Subscription.status');
  });
});
