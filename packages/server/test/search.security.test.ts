/**
 * Search and tenancy: a member of project B never finds, counts or pages into project A's
 * resources, whatever the parameters, sort, cursor or shared ids; and index rows follow the
 * resource they belong to (same id in two projects, update, delete).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Observation, Patient } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './harness.js';
import { entryIds, linkPath, searchProject, type SearchProject } from './search-helpers.js';

describe('search: tenancy', () => {
  let server: TestServer;
  let a: SearchProject;
  let b: SearchProject;
  let patientA: Patient & { id: string };
  let patientB: Patient & { id: string };

  before(async () => {
    server = await startTestServer();
    a = await searchProject(server);
    b = await searchProject(server);
    const shared = { name: [{ family: 'Shared', given: ['Name'] }], birthDate: '1970-01-01', identifier: [{ system: 'urn:shared', value: '1' }], active: true };
    patientA = await a.create<Patient>({ resourceType: 'Patient', ...shared });
    for (let i = 0; i < 5; i++) await a.create<Patient>({ resourceType: 'Patient', ...shared });
    await a.create<Observation>({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:c', code: '1' }] }, subject: { reference: `Patient/${patientA.id}` } });
    patientB = await b.create<Patient>({ resourceType: 'Patient', ...shared });
  });
  after(() => server.close());

  it('B finds and counts only its own, for every kind of parameter', async () => {
    for (const query of [
      'Patient',
      'Patient?family=shared',
      'Patient?name:contains=ame',
      'Patient?birthdate=1970',
      'Patient?identifier=urn:shared|1',
      'Patient?active=true',
      'Patient?family:missing=false',
      'Patient?gender:missing=true',
      `Patient?_lastUpdated=le${encodeURIComponent(server.clock.now().toISOString())}`,
      'Patient?_sort=-family,birthdate',
    ]) {
      const bundle = await b.search(`${query}${query.includes('?') ? '&' : '?'}_total=accurate`);
      assert.deepEqual(entryIds(bundle), [patientB.id], query);
      assert.equal(bundle.total, 1, query);
    }
    assert.equal((await b.search('Patient?_summary=count')).total, 1);
    assert.equal((await b.search('Patient?_total=estimate')).total, 1);
  });

  it("B cannot reach A's resources by id, reference or code", async () => {
    assert.deepEqual(await b.ids(`Patient?_id=${patientA.id}`), []);
    assert.deepEqual(await b.ids(`Observation?subject=Patient/${patientA.id}`), []);
    assert.deepEqual(await b.ids(`Observation?patient=${patientA.id}`), []);
    assert.deepEqual(await b.ids('Observation?code=urn:c|1'), []);
    assert.deepEqual(await b.ids('Observation?code:not=urn:c|1'), []);
    assert.deepEqual(await b.ids('Observation?subject:missing=false'), []);
  });

  it("A's paging cursor used by B pages through B's resources only", async () => {
    const page = await a.search('Patient?_count=2&_sort=family');
    const next = linkPath(server, page, 'next') as string;
    assert.deepEqual(entryIds(await b.search(next)).filter((id) => id !== patientB.id), []);
    const idCursor = linkPath(server, await a.search('Patient?_count=1'), 'next') as string;
    assert.ok(entryIds(await b.search(idCursor)).every((id) => id === patientB.id));
  });

  it('the same id in two projects keeps separate index rows', async () => {
    const put = await b.fhir.put(`Patient/${patientA.id}`, { resourceType: 'Patient', id: patientA.id, name: [{ family: 'Twin' }] });
    assert.equal(put.status, 201);
    assert.deepEqual(await a.ids(`Patient?_id=${patientA.id}&family=shared`), [patientA.id]);
    assert.deepEqual(await a.ids('Patient?family=twin'), []);
    assert.deepEqual(await b.ids('Patient?family=twin'), [patientA.id]);
    assert.equal((await b.fhir.delete(`Patient/${patientA.id}`)).status, 200);
    assert.deepEqual(await b.ids('Patient?family=twin'), []);
    assert.deepEqual(await a.ids(`Patient?family=shared&_id=${patientA.id}`), [patientA.id], "B's delete left A's rows alone");
  });

  it('a deleted resource stops matching, and a new version matches only its new values', async () => {
    const p = await a.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Gone' }], birthDate: '2001-02-03' });
    assert.deepEqual(await a.ids('Patient?birthdate=2001-02-03'), [p.id]);
    assert.equal((await a.fhir.put(`Patient/${p.id}`, { ...p, birthDate: '2002-02-03' })).status, 200);
    assert.deepEqual(await a.ids('Patient?birthdate=2001-02-03'), []);
    assert.deepEqual(await a.ids('Patient?birthdate=2002-02-03'), [p.id]);
    assert.equal((await a.fhir.delete(`Patient/${p.id}`)).status, 200);
    assert.deepEqual(await a.ids('Patient?birthdate=2002-02-03'), []);
    assert.deepEqual(await a.ids('Patient?family=gone'), []);
    assert.ok(!(await a.ids('Patient?birthdate:missing=true')).includes(p.id));
    assert.ok(!(await a.ids(`Patient?_id=${p.id}`)).includes(p.id));
  });
});
