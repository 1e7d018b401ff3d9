/**
 * Compartment search, `GET /Patient/{id}/{type}` (https://hl7.org/fhir/R4/compartmentdefinition-patient.html):
 * every compartment parameter of the type counts (Observation: subject and performer), the
 * other parameters narrow it, the patient is in its own compartment, paging links keep the
 * compartment path; a type outside the compartment is a 400, an unknown type or compartment a
 * 404, and a Patient that is not in the caller's project a 404 (deleted: 410), like a read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Condition, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { startTestServer, type TestServer } from './harness.js';
import { entryIds, linkPath, searchProject, sorted, type SearchBundle, type SearchProject } from './search-helpers.js';

type Stored<T extends Resource> = T & { id: string };
const ref = (r: Resource): string => `${r.resourceType}/${r.id}`;

describe('search: Patient compartment', () => {
  let server: TestServer;
  let p: SearchProject;
  let alice: Stored<Patient>;
  let bob: Stored<Patient>;
  let linked: Stored<Patient>;
  let ofAlice: Stored<Observation>;
  let byAlice: Stored<Observation>;
  let ofBob: Stored<Observation>;
  let conditionOfAlice: Stored<Condition>;

  const observation = (extra: Partial<Observation>): Observation => ({ resourceType: 'Observation', status: 'final', code: { text: 'bp' }, ...extra });

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    alice = await p.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Alice' }] });
    bob = await p.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Bob' }] });
    linked = await p.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Alias' }], link: [{ other: { reference: ref(alice) }, type: 'seealso' }] });
    ofAlice = await p.create(observation({ subject: { reference: ref(alice) }, code: { text: 'heart rate' } }));
    // In Alice's compartment through `performer`, and in Bob's through `subject`.
    byAlice = await p.create(observation({ subject: { reference: ref(bob) }, performer: [{ reference: ref(alice) }] }));
    ofBob = await p.create(observation({ subject: { reference: ref(bob) } }));
    conditionOfAlice = await p.create<Condition>({ resourceType: 'Condition', subject: { reference: ref(alice) }, code: { text: 'flu' } });
  });
  after(() => server.close());

  it('finds the resources of the type that any compartment parameter puts in the compartment', async () => {
    assert.deepEqual(await p.ids(`Patient/${alice.id}/Observation`), sorted(ofAlice.id, byAlice.id));
    assert.deepEqual(await p.ids(`Patient/${bob.id}/Observation`), sorted(byAlice.id, ofBob.id));
    assert.deepEqual(await p.ids(`Patient/${alice.id}/Condition`), [conditionOfAlice.id]);
    assert.deepEqual(await p.ids(`Patient/${bob.id}/Condition`), []);
  });

  it('combines with the other parameters, includes and counts', async () => {
    assert.deepEqual(await p.ids(`Patient/${alice.id}/Observation?code:text=heart`), [ofAlice.id]);
    assert.deepEqual(await p.ids(`Patient/${alice.id}/Observation?subject=${ref(bob)}`), [byAlice.id]);
    const bundle = await p.search(`Patient/${alice.id}/Observation?_include=Observation:subject&_total=accurate`);
    assert.equal(bundle.total, 2);
    assert.deepEqual(bundle.entry?.filter((e) => e.search.mode === 'include').map((e) => e.resource.id).sort(), sorted(alice.id, bob.id));
    assert.equal((await p.search(`Patient/${bob.id}/Observation?_summary=count`)).total, 2);
  });

  it('a patient is in its own compartment, with the patients that link to it', async () => {
    assert.deepEqual(await p.ids(`Patient/${alice.id}/Patient`), sorted(alice.id, linked.id));
    assert.deepEqual(await p.ids(`Patient/${bob.id}/Patient`), [bob.id]);
  });

  it('pages with links under the compartment path', async () => {
    const first = await p.search(`Patient/${bob.id}/Observation?_count=1&_sort=_id`);
    assert.equal(first.link.find((l) => l.relation === 'self')?.url, `${server.fhirUrl}Patient/${bob.id}/Observation?_count=1&_sort=_id`);
    const next = linkPath(server, first, 'next') as string;
    assert.ok(next.startsWith(`Patient/${bob.id}/Observation?`), next);
    const second = await p.search(next);
    assert.deepEqual([...entryIds(first), ...entryIds(second)].sort(), sorted(byAlice.id, ofBob.id));
  });

  it('POST _search on a compartment takes a form body', async () => {
    const res = await p.fhir.request<SearchBundle>('POST', `Patient/${alice.id}/Observation/_search`, 'code:text=heart', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(entryIds(res.body), [ofAlice.id]);
  });

  it('instance history keeps its route', async () => {
    const res = await p.fhir.get(`Patient/${alice.id}/_history`);
    assert.equal(res.status, 200);
    assert.equal(res.body.type, 'history');
  });

  it('refuses types outside the compartment, unknown types and other compartments', async () => {
    expectOutcome(await p.fhir.get(`Patient/${alice.id}/Practitioner`), 400);
    expectOutcome(await p.fhir.get(`Patient/${alice.id}/Nothing`), 404);
    expectOutcome(await p.fhir.get(`Encounter/${alice.id}/Observation`), 404);
    expectOutcome(await p.fhir.get(`Patient/${alice.id}/Observation?shoe-size=1`), 400, 'shoe-size');
  });

  it('a Patient that is not in the project is a 404, a deleted one a 410', async () => {
    const other = await searchProject(server);
    expectOutcome(await other.fhir.get(`Patient/${alice.id}/Observation`), 404);
    expectOutcome(await p.fhir.get('Patient/00000000-0000-4000-8000-000000000000/Observation'), 404);
    const gone = await p.create<Patient>({ resourceType: 'Patient' });
    assert.equal((await p.fhir.delete(`Patient/${gone.id}`)).status, 200);
    expectOutcome(await p.fhir.get(`Patient/${gone.id}/Observation`), 410);
  });
});
