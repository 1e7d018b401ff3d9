/**
 * `_include` and `_revinclude` (https://hl7.org/fhir/R4/search.html#include): typed and
 * untyped targets, `*` and `Type:*`, `:iterate` and its bound, entries marked include and
 * never duplicating a match, includes per page, the links, and malformed values.
 * Tenancy and access rules: search-include.security.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Encounter, Observation, Organization, Patient, Practitioner, Resource } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { startTestServer, type TestServer } from './harness.js';
import { linkPath, searchProject, sorted, type SearchBundle, type SearchProject } from './search-helpers.js';

type Stored<T extends Resource> = T & { id: string };

/** `Type/id` of the entries with this search mode, sorted. */
function refs(bundle: SearchBundle, mode: 'match' | 'include'): string[] {
  return (bundle.entry ?? []).filter((e) => e.search.mode === mode).map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();
}

const ref = (r: Resource): string => `${r.resourceType}/${r.id}`;

describe('search: _include and _revinclude', () => {
  let server: TestServer;
  let p: SearchProject;
  let org: Stored<Organization>;
  let prac: Stored<Practitioner>;
  let alice: Stored<Patient>;
  let bob: Stored<Patient>;
  let enc: Stored<Encounter>;
  let obsA1: Stored<Observation>;
  let obsA2: Stored<Observation>;
  let obsB: Stored<Observation>;

  const obs = (subject: Resource, extra: Partial<Observation> = {}): Observation => ({
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'x' },
    subject: { reference: ref(subject) },
    ...extra,
  });

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    org = await p.create<Organization>({ resourceType: 'Organization', name: 'Acme' });
    prac = await p.create<Practitioner>({ resourceType: 'Practitioner', name: [{ family: 'Doctor' }] });
    bob = await p.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Bob' }] });
    alice = await p.create<Patient>({
      resourceType: 'Patient',
      name: [{ family: 'Alice' }],
      managingOrganization: { reference: ref(org) },
      link: [{ other: { reference: ref(bob) }, type: 'seealso' }],
    });
    enc = await p.create<Encounter>({
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'AMB' },
      subject: { reference: ref(alice) },
      participant: [{ individual: { reference: ref(prac) } }],
      serviceProvider: { reference: ref(org) },
    });
    obsA1 = await p.create(obs(alice, { encounter: { reference: ref(enc) } }));
    obsA2 = await p.create(obs(alice));
    obsB = await p.create(obs(bob));
  });
  after(() => server.close());

  it('_include adds what the matches point at, once each, marked include', async () => {
    const b = await p.search('Observation?_include=Observation:subject');
    assert.deepEqual(refs(b, 'match'), sorted(ref(obsA1), ref(obsA2), ref(obsB)));
    assert.deepEqual(refs(b, 'include'), sorted(ref(alice), ref(bob)));
    assert.equal(b.entry?.length, 5, 'Alice is referenced twice and included once');
    const included = b.entry?.find((e) => e.resource.id === alice.id);
    assert.equal(included?.fullUrl, `${server.fhirUrl}Patient/${alice.id}`);
    assert.equal(b.total, 3, 'the total counts matches only');
  });

  it('a target type narrows _include; a match is never repeated as an include', async () => {
    assert.deepEqual(refs(await p.search('Observation?_include=Observation:subject:Patient'), 'include'), sorted(ref(alice), ref(bob)));
    assert.deepEqual(refs(await p.search('Observation?_include=Observation:subject:Group'), 'include'), []);
    // Alice links to Bob, and both match: Bob stays a match only.
    const b = await p.search('Patient?_include=Patient:link');
    assert.deepEqual(refs(b, 'match'), sorted(ref(alice), ref(bob)));
    assert.deepEqual(refs(b, 'include'), []);
  });

  it('_revinclude adds what points at the matches', async () => {
    const b = await p.search(`Patient?_id=${alice.id}&_revinclude=Observation:subject&_revinclude=Encounter:subject`);
    assert.deepEqual(refs(b, 'match'), [ref(alice)]);
    assert.deepEqual(refs(b, 'include'), sorted(ref(obsA1), ref(obsA2), ref(enc)));
    assert.deepEqual(refs(await p.search(`Patient?_id=${bob.id}&_revinclude=Observation:patient`), 'include'), [ref(obsB)]);
    assert.deepEqual(refs(await p.search(`Patient?_id=${bob.id}&_revinclude=Observation:subject:Group`), 'include'), []);
  });

  it('* and Type:* follow every reference parameter', async () => {
    const forward = sorted(ref(alice), ref(prac), ref(org));
    assert.deepEqual(refs(await p.search(`Encounter?_id=${enc.id}&_include=*`), 'include'), forward);
    assert.deepEqual(refs(await p.search(`Encounter?_id=${enc.id}&_include=Encounter:*`), 'include'), forward);
    const backward = sorted(ref(obsA1), ref(obsA2), ref(enc));
    assert.deepEqual(refs(await p.search(`Patient?_id=${alice.id}&_revinclude=*`), 'include'), backward);
    assert.deepEqual(refs(await p.search(`Patient?_id=${alice.id}&_revinclude=Observation:*`), 'include'), sorted(ref(obsA1), ref(obsA2)));
  });

  it(':iterate follows included resources too; without it, only the matches', async () => {
    const once = await p.search(`Observation?_id=${obsA1.id}&_include=Observation:encounter&_include=Encounter:participant`);
    assert.deepEqual(refs(once, 'include'), [ref(enc)]);
    const iterated = await p.search(`Observation?_id=${obsA1.id}&_include=Observation:encounter&_include:iterate=Encounter:participant`);
    assert.deepEqual(refs(iterated, 'include'), sorted(ref(enc), ref(prac)));
    // Forward and reverse mixed: Alice's Observations, then their Encounter, then its Organization.
    const mixed = await p.search(`Patient?_id=${alice.id}&_revinclude=Observation:subject&_include:iterate=Observation:encounter&_include:iterate=Encounter:service-provider`);
    assert.deepEqual(refs(mixed, 'include'), sorted(ref(obsA1), ref(obsA2), ref(enc), ref(org)));
  });

  it(':iterate stops after four rounds', async () => {
    // o0 -> o1 -> ... -> o7 by hasMember; round 0 adds o1, rounds 1 to 4 add o2 to o5.
    const chain: Array<Stored<Observation>> = [];
    for (let i = 7; i >= 0; i--) {
      const next = chain[0];
      chain.unshift(await p.create(obs(bob, { code: { text: `link ${i}` }, ...(next ? { hasMember: [{ reference: ref(next) }] } : {}) })));
    }
    const b = await p.search(`Observation?_id=${chain[0]?.id}&_include:iterate=Observation:has-member`);
    assert.deepEqual(refs(b, 'include'), sorted(...chain.slice(1, 6).map(ref)));
  });

  it('includes are computed for each page\'s matches, and the links keep the parameters', async () => {
    const first = await p.search(`Observation?_id=${obsA1.id},${obsB.id}&_sort=-_id&_count=1&_include=Observation:subject`);
    const [firstObs, secondObs] = [obsA1, obsB].sort((x, y) => y.id.localeCompare(x.id));
    assert.deepEqual(refs(first, 'match'), [ref(firstObs as Resource)]);
    assert.deepEqual(refs(first, 'include'), [(firstObs as Observation).subject?.reference as string]);
    assert.match(first.link.find((l) => l.relation === 'self')?.url ?? '', /_include=Observation%3Asubject/);
    const second = await p.search(linkPath(server, first, 'next') as string);
    assert.deepEqual(refs(second, 'match'), [ref(secondObs as Resource)]);
    assert.deepEqual(refs(second, 'include'), [(secondObs as Observation).subject?.reference as string]);
  });

  it('_summary=count computes no includes; _elements shapes the matches, not the includes', async () => {
    const count = await p.search('Observation?_summary=count&_include=Observation:subject');
    assert.equal(count.entry, undefined);
    const b = await p.search(`Observation?_id=${obsB.id}&_elements=status&_include=Observation:subject`);
    const included = b.entry?.find((e) => e.search.mode === 'include')?.resource as Patient;
    assert.equal(included.name?.[0]?.family, 'Bob');
  });

  it('POST _search takes _include in the body', async () => {
    const res = await p.fhir.request<SearchBundle>('POST', 'Observation/_search', `_id=${obsB.id}&_include=Observation:subject`, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(res.status, 200);
    assert.deepEqual(refs(res.body, 'include'), [ref(bob)]);
  });

  it('refuses malformed include parameters with a 400 naming them', async () => {
    expectOutcome(await p.fhir.get('Observation?_include=Observation:code'), 400, '_include');
    expectOutcome(await p.fhir.get('Observation?_include=Nothing:subject'), 400, '_include');
    expectOutcome(await p.fhir.get('Observation?_include=Observation:subject:Organization'), 400, '_include');
    expectOutcome(await p.fhir.get('Observation?_include=subject'), 400, '_include');
    expectOutcome(await p.fhir.get('Observation?_include:deep=Observation:subject'), 400, '_include:deep');
    expectOutcome(await p.fhir.get('Patient?_revinclude=Observation:*:Patient'), 400, '_revinclude');
    // Lenient handling does not make a malformed value acceptable.
    expectOutcome(await p.fhir.get('Observation?_include=Observation:code', { prefer: 'handling=lenient' }), 400, '_include');
  });

  it('the CapabilityStatement states _include, _revinclude, $everything and the Patient compartment', async () => {
    const res = await p.fhir.get('metadata');
    const rest = res.body.rest[0];
    assert.deepEqual(rest.compartment, ['http://hl7.org/fhir/CompartmentDefinition/patient']);
    const patient = rest.resource.find((r: { type: string }) => r.type === 'Patient');
    assert.ok(patient.searchInclude.includes('*') && patient.searchInclude.includes('Patient:organization'));
    assert.ok(patient.searchRevInclude.includes('Observation:subject') && patient.searchRevInclude.includes('*'));
    assert.deepEqual(patient.operation, [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }]);
    const observation = rest.resource.find((r: { type: string }) => r.type === 'Observation');
    assert.ok(observation.searchInclude.includes('Observation:subject'));
    assert.equal(observation.operation, undefined);
  });
});
