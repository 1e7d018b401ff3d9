/**
 * `GET /Patient/{id}/$everything` (https://hl7.org/fhir/R4/patient-operation-everything.html):
 * the patient first, then its compartment; the Practitioners and Organizations they refer to as
 * includes; paging by `_count` through cursor links with nothing missed or repeated; `_since`
 * and `_type`; 404 for a Patient outside the project; nothing from another project.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Condition, Encounter, Observation, Organization, Patient, Practitioner, Resource } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { startTestServer, type TestServer } from './harness.js';
import { linkPath, searchProject, sorted, type SearchBundle, type SearchProject } from './search-helpers.js';

type Stored<T extends Resource> = T & { id: string };
const ref = (r: Resource): string => `${r.resourceType}/${r.id}`;

function refs(bundle: SearchBundle, mode: 'match' | 'include'): string[] {
  return (bundle.entry ?? []).filter((e) => e.search.mode === mode).map((e) => `${e.resource.resourceType}/${e.resource.id}`);
}

describe('Patient/$everything', () => {
  let server: TestServer;
  let p: SearchProject;
  let alice: Stored<Patient>;
  let prac: Stored<Practitioner>;
  let org: Stored<Organization>;
  let compartment: string[];

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    org = await p.create<Organization>({ resourceType: 'Organization', name: 'Acme' });
    prac = await p.create<Practitioner>({ resourceType: 'Practitioner', name: [{ family: 'Doctor' }] });
    alice = await p.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Alice' }], managingOrganization: { reference: ref(org) } });
    const bob = await p.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Bob' }] });
    const enc = await p.create<Encounter>({
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'AMB' },
      subject: { reference: ref(alice) },
      participant: [{ individual: { reference: ref(prac) } }],
    });
    const observations: Resource[] = [];
    for (let i = 0; i < 4; i++) {
      observations.push(await p.create<Observation>({ resourceType: 'Observation', status: 'final', code: { text: `o${i}` }, subject: { reference: ref(alice) } }));
    }
    const condition = await p.create<Condition>({ resourceType: 'Condition', subject: { reference: ref(alice) }, code: { text: 'flu' } });
    await p.create<Observation>({ resourceType: 'Observation', status: 'final', code: { text: 'not hers' }, subject: { reference: ref(bob) } });
    compartment = sorted(ref(enc), ...observations.map(ref), ref(condition));
  });
  after(() => server.close());

  it('answers the patient, its compartment, and what they refer to', async () => {
    const bundle = await p.search(`Patient/${alice.id}/$everything`);
    const matches = refs(bundle, 'match');
    assert.equal(matches[0], ref(alice), 'the patient comes first');
    assert.deepEqual(matches.slice(1).sort(), compartment);
    assert.deepEqual(refs(bundle, 'include').sort(), sorted(ref(org), ref(prac)));
    assert.equal(bundle.total, 1 + compartment.length);
    assert.equal(bundle.link.find((l) => l.relation === 'self')?.url, `${server.fhirUrl}Patient/${alice.id}/$everything`);
  });

  it('pages with _count, missing and repeating nothing', async () => {
    const seen: string[] = [];
    let path: string | undefined = `Patient/${alice.id}/$everything?_count=2`;
    let pages = 0;
    while (path) {
      const page = await p.search(path);
      assert.ok(refs(page, 'match').length <= 2);
      seen.push(...refs(page, 'match'));
      path = linkPath(server, page, 'next');
      pages++;
    }
    assert.equal(pages, 4);
    assert.equal(seen[0], ref(alice));
    assert.deepEqual(seen.slice(1).sort(), compartment);
    assert.equal(new Set(seen).size, seen.length);
  });

  it('_since keeps what changed from an instant; _type keeps some types', async () => {
    server.clock.advance(60_000);
    const since = server.clock.now().toISOString();
    const condition = compartment.find((r) => r.startsWith('Condition/')) as string;
    const current = (await p.fhir.get(condition)).body as Condition;
    assert.equal((await p.fhir.put(condition, { ...current, code: { text: 'influenza' } })).status, 200);
    assert.deepEqual(refs(await p.search(`Patient/${alice.id}/$everything?_since=${encodeURIComponent(since)}`), 'match'), [condition]);
    const observations = refs(await p.search(`Patient/${alice.id}/$everything?_type=Observation`), 'match');
    assert.deepEqual(observations.sort(), compartment.filter((r) => r.startsWith('Observation/')));
    const withPatient = refs(await p.search(`Patient/${alice.id}/$everything?_type=Patient,Condition`), 'match');
    assert.deepEqual(withPatient, [ref(alice), condition]);
  });

  it('refuses what it does not support, unless lenient', async () => {
    expectOutcome(await p.fhir.get(`Patient/${alice.id}/$everything?start=2020`), 400, 'start');
    expectOutcome(await p.fhir.get(`Patient/${alice.id}/$everything?_since=yesterday`), 400, '_since');
    expectOutcome(await p.fhir.get(`Patient/${alice.id}/$everything?_type=Practitioner`), 400, '_type');
    expectOutcome(await p.fhir.get(`Patient/${alice.id}/$everything?_cursor=nonsense`), 400, '_cursor');
    const lenient = await p.search(`Patient/${alice.id}/$everything?start=2020`, { prefer: 'handling=lenient' });
    assert.equal(refs(lenient, 'match').length, 1 + compartment.length);
  });

  it('a Patient outside the project is a 404; another project sees none of it', async () => {
    const other = await searchProject(server);
    expectOutcome(await other.fhir.get(`Patient/${alice.id}/$everything`), 404);
    expectOutcome(await p.fhir.get('Patient/00000000-0000-4000-8000-000000000000/$everything'), 404);
    expectOutcome(await p.fhir.get(`Encounter/${alice.id}/$everything`), 404);
    // B gives its own Patient Alice's id and points its own Observation at it: A's data stays out.
    assert.equal((await other.fhir.put(`Patient/${alice.id}`, { resourceType: 'Patient', id: alice.id })).status, 201);
    const mine = await other.create<Observation>({ resourceType: 'Observation', status: 'final', code: { text: 'b' }, subject: { reference: ref(alice) } });
    const bundle = await other.search(`Patient/${alice.id}/$everything`);
    assert.deepEqual(refs(bundle, 'match'), [ref(alice), ref(mine)]);
    assert.deepEqual(refs(bundle, 'include'), []);
  });
});
