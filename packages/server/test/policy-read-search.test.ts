/**
 * Access policies on the read paths (issue 6): read, vread, search, _total and _summary=count,
 * compartment search, for the patient, readonly, hidden-fields and parameterised members and
 * the admin of test/policy-fixture.ts. Each case asserts what is returned and that what the
 * member may not see appears nowhere in the response text.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './harness.js';
import { assertAbsent, bundleIds, createPolicyFixture, SECRET_BIRTHDATE, SECRET_FAMILY, SECRET_PHONE, SECRET_VALUE, sorted, type PolicyFixture } from './policy-fixture.js';

describe('access policies: read, vread, search, counts, compartment', () => {
  let server: TestServer;
  let f: PolicyFixture;

  before(async () => {
    server = await startTestServer();
    f = await createPolicyFixture(server);
  });
  after(() => server.close());

  it('read: inside the policy 200; outside it exactly what a random id answers (404); a type outside it 403', async () => {
    assert.equal((await f.patient.get(`Patient/${f.alice.id}`)).status, 200);
    assert.equal((await f.patient.get(`Observation/${f.obsAlice.id}`)).status, 200);
    const outside = await f.patient.get(`Observation/${f.obsBob.id}`);
    const random = await f.patient.get(`Observation/${server.deps.random.uuid()}`);
    assert.equal(outside.status, 404);
    assert.equal(random.status, 404);
    assert.equal(JSON.stringify(outside.body).replace(f.obsBob.id, 'X'), JSON.stringify(random.body).replace(/Observation\/[0-9a-f-]+/, 'Observation/X'));
    assertAbsent(outside.body, [SECRET_VALUE, f.bob.id]);
    assert.equal((await f.patient.get(`Patient/${f.bob.id}`)).status, 404);
    const type = await f.patient.get(`Condition/${server.deps.random.uuid()}`);
    assert.equal(type.status, 403);
    // Admin-only types are never granted by a policy, a wildcard included.
    assert.equal((await f.patient.get(`AccessPolicy/${f.policies.patient.id}`)).status, 403);
    // Project B's resources are not reachable by anyone in A.
    assert.equal((await f.admin.get(`Observation/${f.bObs.id}`)).status, 404);
  });

  it('parameterised policy: the membership parameters (reference and string) decide', async () => {
    assert.equal((await f.param.get(`Observation/${f.obsBob.id}`)).status, 200);
    assert.equal((await f.param.get(`Observation/${f.obsBobLab.id}`)).status, 404); // category laboratory
    assert.equal((await f.param.get(`Observation/${f.obsAlice.id}`)).status, 404);
    assert.equal((await f.param.get(`Patient/${f.bob.id}`)).status, 200);
    assert.equal((await f.param.get(`Patient/${f.alice.id}`)).status, 404);
    const search = await f.param.get('Observation?_total=accurate');
    assert.equal(search.status, 200);
    assert.deepEqual(bundleIds(search.body), [f.obsBob.id]);
    assert.equal(search.body.total, 1);
    assertAbsent(search.body, [f.obsAlice.id, f.obsBobLab.id, f.obsCarol.id, f.bObs.id]);
  });

  it('vread: a version of a resource outside the policy is a 404', async () => {
    const own = await f.patient.get(`Observation/${f.obsAlice.id}/_history/${f.obsAlice.meta?.versionId}`);
    assert.equal(own.status, 200);
    const other = await f.patient.get(`Observation/${f.obsBob.id}/_history/${f.obsBob.meta?.versionId}`);
    assert.equal(other.status, 404);
    assertAbsent(other.body, [SECRET_VALUE]);
  });

  it('search, _total, _summary=count and paging see only what the policy allows', async () => {
    const all = await f.patient.get('Observation?_total=accurate&_count=1');
    assert.equal(all.status, 200);
    assert.equal(all.body.total, 2);
    const next = all.body.link.find((l: { relation: string }) => l.relation === 'next');
    assert.ok(next, 'a second page');
    const page2 = await f.patient.get(new URL(next.url).pathname.replace(/^\/fhir\/R4\//, '') + new URL(next.url).search);
    assert.deepEqual(sorted(...bundleIds(all.body), ...bundleIds(page2.body)), sorted(f.obsAlice.id, f.obsAlice2.id));
    assert.equal(page2.body.link.some((l: { relation: string }) => l.relation === 'next'), false);
    assert.equal((await f.patient.get('Observation?_summary=count')).body.total, 2);
    assert.equal((await f.patient.get(`Observation?subject=Patient/${f.bob.id}&_summary=count`)).body.total, 0);
    const patients = await f.patient.get('Patient');
    assert.deepEqual(bundleIds(patients.body), [f.alice.id]);
    assertAbsent(patients.body, [f.bob.id, f.carol.id, 'Bobson']);
    // Readonly and hidden members see every Observation of the project, and nothing of project B.
    const ro = await f.readonly.get('Observation?_summary=count');
    assert.equal(ro.body.total, 5);
    const admin = await f.admin.get('Observation?_total=accurate');
    assert.equal(admin.body.total, 5);
    assertAbsent(admin.body, [f.bObs.id]);
  });

  it('a search on a type outside the policy is a 403', async () => {
    const res = await f.patient.get('Condition');
    assert.equal(res.status, 403);
    assert.equal((await f.readonly.get('Encounter')).status, 403);
  });

  it('compartment search: the policy narrows it; another patient\'s compartment shows nothing', async () => {
    const own = await f.patient.get(`Patient/${f.alice.id}/Observation`);
    assert.equal(own.status, 200);
    assert.deepEqual(bundleIds(own.body), sorted(f.obsAlice.id, f.obsAlice2.id));
    const other = await f.patient.get(`Patient/${f.bob.id}/Observation`);
    assert.equal(other.status, 404); // Bob himself is outside the policy: as a read of him.
    assertAbsent(other.body, [f.obsBob.id, SECRET_VALUE]);
    const param = await f.param.get(`Patient/${f.bob.id}/Observation`);
    assert.deepEqual(bundleIds(param.body), [f.obsBob.id]);
  });

  it('hidden fields leave reads, searches, _elements and the narrative; searching or sorting on them is refused', async () => {
    const read = await f.hidden.get(`Patient/${f.alice.id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.name, [{ given: ['Alice'] }]);
    assertAbsent(read.body, [SECRET_BIRTHDATE, SECRET_FAMILY, SECRET_PHONE, 'birthDate', 'telecom']);
    const obs = await f.hidden.get(`Observation/${f.obsAlice.id}`);
    assert.equal(obs.body.status, 'final');
    assertAbsent(obs.body, [SECRET_VALUE, 'valueQuantity']);
    const search = await f.hidden.get('Patient?_elements=name,birthDate,telecom');
    assert.equal(search.status, 200);
    assert.equal(bundleIds(search.body).length, 3);
    assertAbsent(search.body, [SECRET_BIRTHDATE, SECRET_FAMILY, SECRET_PHONE]);
    const narrative = await f.admin.post('Patient', { resourceType: 'Patient', text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${SECRET_FAMILY}</div>` }, name: [{ given: ['Nora'] }] });
    assert.equal(narrative.status, 201);
    assertAbsent((await f.hidden.get(`Patient/${narrative.body.id}`)).body, [SECRET_FAMILY, 'xhtml']);
    for (const query of [`Patient?birthdate=${SECRET_BIRTHDATE}`, `Patient?family=${SECRET_FAMILY}`, 'Patient?_sort=birthdate', 'Patient?phone=555', `Observation?value-quantity=${SECRET_VALUE}`, 'Observation?subject:Patient.family=Zyx']) {
      const res = await f.hidden.get(query);
      assert.equal(res.status, 403, query);
      assert.equal(res.body.resourceType, 'OperationOutcome');
      assert.ok(res.body.issue[0].expression?.[0], query);
    }
    // A parameter on a field that is not hidden still works (given is not hidden).
    assert.equal((await f.hidden.get('Patient?given=Alice')).body.entry.length, 1);
    // The admin, with no policy, sees everything.
    const full = await f.admin.get(`Patient/${f.alice.id}`);
    assert.equal(full.body.birthDate, SECRET_BIRTHDATE);
  });

  it('SMART scopes on the token narrow the policy, and never widen it', async () => {
    const narrowed = await f.patientWithScope('openid patient/Patient.rs');
    assert.equal((await narrowed.get(`Patient/${f.alice.id}`)).status, 200);
    assert.equal((await narrowed.get(`Patient/${f.bob.id}`)).status, 404);
    assert.equal((await narrowed.get(`Observation/${f.obsAlice.id}`)).status, 403);
    const wide = await f.patientWithScope('openid user/*.cruds');
    assert.equal((await wide.get(`Observation/${f.obsAlice.id}`)).status, 200);
    assert.equal((await wide.get(`Observation/${f.obsBob.id}`)).status, 404);
    assert.equal((await wide.get('Condition')).status, 403);
    assert.equal((await wide.get('AccessPolicy')).status, 403);
    assert.equal((await wide.get('Observation?_summary=count')).body.total, 2);
  });
});
