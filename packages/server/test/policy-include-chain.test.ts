/**
 * Access policies where a search crosses into other resources (issue 6): `_include`,
 * `_revinclude` (with `:iterate` and `*`), chained parameters and `_has` (each evaluated under
 * the target type's policy), and `Patient/$everything`. What the member may not see must not
 * appear anywhere in the response, and must not decide which matches come back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './harness.js';
import { assertAbsent, bundleIds, createPolicyFixture, SECRET_BIRTHDATE, SECRET_FAMILY, SECRET_VALUE, sorted, type PolicyFixture } from './policy-fixture.js';

describe('access policies: includes, chains, _has, $everything', () => {
  let server: TestServer;
  let f: PolicyFixture;

  before(async () => {
    server = await startTestServer();
    f = await createPolicyFixture(server);
  });
  after(() => server.close());

  it('_include follows only to resources the policy allows (and types it grants)', async () => {
    const res = await f.patient.get('Observation?_include=Observation:subject&_include=Observation:performer');
    assert.equal(res.status, 200);
    assert.deepEqual(bundleIds(res.body), sorted(f.obsAlice.id, f.obsAlice2.id, f.alice.id, f.doctor.id));
    // The parameterised member may not search Practitioner at all: included nothing of it.
    const param = await f.param.get('Observation?_include=*');
    assert.deepEqual(bundleIds(param.body), sorted(f.obsBob.id, f.bob.id));
    assertAbsent(param.body, ['Dora', f.alice.id]); // the doctor's id is in the performer reference; the resource is not
  });

  it('_revinclude (plain, :iterate and *) brings back only what the policy allows', async () => {
    const res = await f.patient.get('Patient?_revinclude=Observation:subject&_revinclude=Encounter:subject');
    assert.deepEqual(bundleIds(res.body), sorted(f.alice.id, f.obsAlice.id, f.obsAlice2.id, f.encAlice.id));
    // Practitioner is readable for the patient, but the Observations it performed are limited to Alice's.
    const iterate = await f.patient.get(`Practitioner?_id=${f.doctor.id}&_revinclude=Observation:performer&_include:iterate=Observation:subject`);
    assert.deepEqual(bundleIds(iterate.body), sorted(f.doctor.id, f.obsAlice.id, f.alice.id));
    assertAbsent(iterate.body, [f.obsBob.id, f.bob.id]);
    const star = await f.patient.get(`Practitioner?_id=${f.doctor.id}&_revinclude=*`);
    assert.deepEqual(bundleIds(star.body), sorted(f.doctor.id, f.obsAlice.id));
    const admin = await f.admin.get(`Practitioner?_id=${f.doctor.id}&_revinclude=*`);
    const adminObservations = admin.body.entry.filter((e: { resource: { resourceType: string } }) => e.resource.resourceType === 'Observation');
    assert.deepEqual(bundleIds({ entry: adminObservations }), sorted(f.obsAlice.id, f.obsBob.id));
  });

  it('includes keep hidden fields hidden', async () => {
    const res = await f.hidden.get('Observation?_include=Observation:subject');
    assert.equal(res.status, 200);
    assert.ok(bundleIds(res.body).includes(f.alice.id));
    assertAbsent(res.body, [SECRET_BIRTHDATE, SECRET_FAMILY, SECRET_VALUE]);
  });

  it('chains are evaluated under the target type\'s policy', async () => {
    // Every Observation of Alice refers to her, but the param member may not see Alice: no match through her.
    const viaAlice = await f.param.get('Observation?subject:Patient.name=Alice');
    assert.deepEqual(bundleIds(viaAlice.body), []);
    const viaBob = await f.param.get('Observation?subject:Patient.name=Bob');
    assert.deepEqual(bundleIds(viaBob.body), [f.obsBob.id]);
    // The patient may search Observations by performer, but not what a Practitioner it may not... it may read Practitioners:
    const perf = await f.patient.get('Observation?performer:Practitioner.name=Dora');
    assert.deepEqual(bundleIds(perf.body), [f.obsAlice.id]);
    // A chain into a type the member may not search at all is a 403.
    assert.equal((await f.param.get('Observation?performer:Practitioner.name=Dora')).status, 403);
  });

  it('_has is evaluated under the referring type\'s policy: no inference about what the member cannot see', async () => {
    // The readonly member sees all Patients, but _has:Encounter is a type outside its policy.
    assert.equal((await f.readonly.get('Patient?_has:Encounter:subject:status=finished')).status, 403);
    // The param member may see only Bob's vital-signs Observation: Bob's lab one does not make him match.
    const lab = await f.param.get('Patient?_has:Observation:subject:category=laboratory');
    assert.deepEqual(bundleIds(lab.body), []);
    const vital = await f.param.get('Patient?_has:Observation:subject:category=vital-signs');
    assert.deepEqual(bundleIds(vital.body), [f.bob.id]);
    // The admin sees both.
    const admin = await f.admin.get('Patient?_has:Observation:subject:category=laboratory');
    assert.deepEqual(bundleIds(admin.body), sorted(f.alice.id, f.bob.id));
  });

  it('$everything holds only what the policy allows', async () => {
    const own = await f.patient.get(`Patient/${f.alice.id}/$everything`);
    assert.equal(own.status, 200);
    assert.deepEqual(bundleIds(own.body), sorted(f.alice.id, f.obsAlice.id, f.obsAlice2.id, f.encAlice.id, f.doctor.id));
    const other = await f.patient.get(`Patient/${f.bob.id}/$everything`);
    assert.equal(other.status, 404);
    assertAbsent(other.body, [f.obsBob.id, f.encBob.id]);
    const param = await f.param.get(`Patient/${f.bob.id}/$everything`);
    assert.deepEqual(bundleIds(param.body), sorted(f.bob.id, f.obsBob.id));
    assertAbsent(param.body, [f.obsBobLab.id, f.encBob.id, 'Dora']);
    const hidden = await f.hidden.get(`Patient/${f.alice.id}/$everything`);
    assert.equal(hidden.status, 200);
    assertAbsent(hidden.body, [SECRET_BIRTHDATE, SECRET_FAMILY, SECRET_VALUE]);
  });
});
