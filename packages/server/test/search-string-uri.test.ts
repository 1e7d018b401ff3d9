/**
 * String search (https://hl7.org/fhir/R4/search.html#string): starts-with by default,
 * case- and accent-insensitive, over every part of a HumanName or Address; :exact and
 * :contains. Uri search (#uri): exact, :below, :above; and _profile, _source.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Patient, ValueSet } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { startTestServer, type TestServer } from './harness.js';
import { searchProject, sorted, type SearchProject } from './search-helpers.js';

describe('search: string parameters', () => {
  let server: TestServer;
  let p: SearchProject;
  let zoe: Patient & { id: string };
  let smithson: Patient & { id: string };
  let percent: Patient & { id: string };

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    zoe = await p.create<Patient>({
      resourceType: 'Patient',
      name: [{ family: 'Smith', given: ['Zoë', 'Anne'], prefix: ['Dr'] }],
      address: [{ line: ['1 Main Street'], city: 'Québec', postalCode: 'G1A 0A1', country: 'CA' }],
    });
    smithson = await p.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Smithson', given: ['Bob'] }], address: [{ city: 'Quebecville' }] });
    percent = await p.create<Patient>({ resourceType: 'Patient', name: [{ family: '100%_Real', text: 'Real Person' }] });
  });
  after(() => server.close());

  it('matches the start of a value, ignoring case and accents', async () => {
    assert.deepEqual(await p.ids('Patient?family=smith'), sorted(zoe.id, smithson.id));
    assert.deepEqual(await p.ids('Patient?family=SMITHS'), [smithson.id]);
    assert.deepEqual(await p.ids('Patient?given=zoe'), [zoe.id]);
    assert.deepEqual(await p.ids('Patient?given=ZOË'), [zoe.id]);
    assert.deepEqual(await p.ids('Patient?family=mith'), []);
  });

  it('name and address search every part', async () => {
    assert.deepEqual(await p.ids('Patient?name=anne'), [zoe.id]);
    assert.deepEqual(await p.ids('Patient?name=dr'), [zoe.id]);
    assert.deepEqual(await p.ids('Patient?name=real'), [percent.id]);
    assert.deepEqual(await p.ids('Patient?address=quebec'), sorted(zoe.id, smithson.id));
    assert.deepEqual(await p.ids('Patient?address-city=québec'), sorted(zoe.id, smithson.id));
    assert.deepEqual(await p.ids('Patient?address-postalcode=g1a'), [zoe.id]);
    assert.deepEqual(await p.ids('Patient?address=main'), []);
  });

  it(':exact matches the whole value, case and accents included', async () => {
    assert.deepEqual(await p.ids('Patient?family:exact=Smith'), [zoe.id]);
    assert.deepEqual(await p.ids('Patient?family:exact=smith'), []);
    assert.deepEqual(await p.ids('Patient?given:exact=Zoë'), [zoe.id]);
    assert.deepEqual(await p.ids('Patient?given:exact=Zoe'), []);
  });

  it(':contains matches anywhere', async () => {
    assert.deepEqual(await p.ids('Patient?family:contains=MITHS'), [smithson.id]);
    assert.deepEqual(await p.ids('Patient?address:contains=street'), [zoe.id]);
  });

  it('LIKE wildcards in a value match themselves only', async () => {
    assert.deepEqual(await p.ids('Patient?family=100%25_'), [percent.id]);
    assert.deepEqual(await p.ids('Patient?family=%25'), []);
    assert.deepEqual(await p.ids('Patient?family:contains=_'), [percent.id]);
  });

  it('ORs values and ANDs repeats', async () => {
    assert.deepEqual(await p.ids('Patient?given=bob,zoe'), sorted(zoe.id, smithson.id));
    assert.deepEqual(await p.ids('Patient?family=smith&given=bob'), [smithson.id]);
  });

  it('refuses an unsupported modifier, naming it', async () => {
    expectOutcome(await p.fhir.get('Patient?family:below=x'), 400, 'family:below');
  });

  it('an update changes what the name matches', async () => {
    const res = await p.fhir.put(`Patient/${smithson.id}`, { ...smithson, name: [{ family: 'Jones' }] });
    assert.equal(res.status, 200);
    assert.deepEqual(await p.ids('Patient?family=smith'), [zoe.id]);
    assert.deepEqual(await p.ids('Patient?family=jones'), [smithson.id]);
  });
});

describe('search: uri parameters', () => {
  let server: TestServer;
  let p: SearchProject;
  let root: ValueSet & { id: string };
  let child: ValueSet & { id: string };
  let other: ValueSet & { id: string };

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    root = await p.create<ValueSet>({ resourceType: 'ValueSet', status: 'active', url: 'http://acme.org/fhir' });
    child = await p.create<ValueSet>({
      resourceType: 'ValueSet',
      status: 'active',
      url: 'http://acme.org/fhir/ValueSet/123',
      meta: { profile: ['http://example.org/StructureDefinition/special'], source: 'http://source.example/app' },
    });
    other = await p.create<ValueSet>({ resourceType: 'ValueSet', status: 'active', url: 'http://other.org/fhir/ValueSet/1' });
  });
  after(() => server.close());

  it('matches a uri exactly by default', async () => {
    assert.deepEqual(await p.ids('ValueSet?url=http://acme.org/fhir/ValueSet/123'), [child.id]);
    assert.deepEqual(await p.ids('ValueSet?url=http://acme.org/fhir/ValueSet'), []);
  });

  it(':below matches uris under the value, :above the ones above it', async () => {
    assert.deepEqual(await p.ids('ValueSet?url:below=http://acme.org/fhir'), sorted(root.id, child.id));
    assert.deepEqual(await p.ids('ValueSet?url:above=http://acme.org/fhir/ValueSet/123/_history/5'), sorted(root.id, child.id));
    assert.deepEqual(await p.ids('ValueSet?url:above=http://other.org/fhir/ValueSet/1'), [other.id]);
  });

  it('_profile and _source search meta', async () => {
    assert.deepEqual(await p.ids('ValueSet?_profile=http://example.org/StructureDefinition/special'), [child.id]);
    assert.deepEqual(await p.ids('ValueSet?_source=http://source.example/app'), [child.id]);
    assert.deepEqual(await p.ids('ValueSet?_source=http://elsewhere'), []);
  });
});
