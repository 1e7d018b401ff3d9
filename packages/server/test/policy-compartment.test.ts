/**
 * AccessPolicy `compartment` (issue 6): a policy whose `compartment` is `%patient` reaches only
 * resources in that patient's compartment (the Patient CompartmentDefinition, as compartment
 * search uses it), on every path: read, vread, search and counts, includes, chains, `_has`,
 * compartment search, `$everything`, history, batch, conditional writes, create, update, PATCH
 * and delete. The deprecated per-entry `compartment` works the same. Only Patient compartments
 * are saved (400 otherwise), and one that names no Patient at runtime grants nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccessPolicy, AccessPolicyIpAccessRule, Bundle, Observation, Organization } from '@medplum/fhirtypes';
import { versionInCompartments, type PolicyEntry } from '../src/fhir/access-policy/member-policy.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { systemScope } from '../src/fhir/scope.js';
import { startTestServer, type TestServer } from './harness.js';
import { addMember, assertAbsent, bundleIds, createPolicyFixture, observation, sorted, type PolicyFixture } from './policy-fixture.js';
import type { FhirClient } from './factories.js';

describe('access policies: compartment', () => {
  let server: TestServer;
  let f: PolicyFixture;
  /** Alice's member under a policy with `compartment: %patient` and no criteria. */
  let alice: FhirClient;
  /** A practitioner whose Observation entry has the deprecated `compartment: Patient/<bob>`. */
  let deprecated: FhirClient;
  let bobIds: string[];

  before(async () => {
    server = await startTestServer();
    f = await createPolicyFixture(server);
    const policy = (
      await f.admin.post<AccessPolicy & { id: string }>('AccessPolicy', {
        resourceType: 'AccessPolicy',
        name: 'Own compartment',
        compartment: { reference: '%patient' },
        resource: [{ resourceType: 'Patient' }, { resourceType: 'Observation' }, { resourceType: 'Encounter', readonly: true }, { resourceType: 'Practitioner' }],
      })
    ).body;
    alice = (await addMember(server, f.projectId, f.alice, { accessPolicy: { reference: `AccessPolicy/${policy.id}` } })).client;
    const old = (
      await f.admin.post<AccessPolicy & { id: string }>('AccessPolicy', {
        resourceType: 'AccessPolicy',
        resource: [{ resourceType: 'Observation', compartment: { reference: `Patient/${f.bob.id}` } }, { resourceType: 'Patient' }],
      })
    ).body;
    deprecated = (await addMember(server, f.projectId, f.doctor, { accessPolicy: { reference: `AccessPolicy/${old.id}` } })).client;
    bobIds = [f.bob.id, f.obsBob.id, f.obsBobLab.id, f.encBob.id, f.carol.id, f.obsCarol.id];
  });
  after(() => server.close());

  it('reads and vreads only inside the compartment; outside is a random id', async () => {
    assert.equal((await alice.get(`Patient/${f.alice.id}`)).status, 200);
    assert.equal((await alice.get(`Observation/${f.obsAlice2.id}`)).status, 200);
    assert.equal((await alice.get(`Encounter/${f.encAlice.id}`)).status, 200);
    for (const path of [`Patient/${f.bob.id}`, `Observation/${f.obsBob.id}`, `Encounter/${f.encBob.id}`, `Observation/${f.obsBob.id}/_history/${f.obsBob.meta?.versionId}`]) {
      const res = await alice.get(path);
      assert.equal(res.status, 404, path);
      assertAbsent(res.body, ['Bobson', 'subject'], path);
    }
    // Practitioner is in no Patient compartment: the entry reaches none of it.
    assert.equal((await alice.get(`Practitioner/${f.doctor.id}`)).status, 403);
    assert.equal((await alice.get('Practitioner')).status, 403);
  });

  it('searches, counts, includes, chains and _has see only the compartment', async () => {
    const own = sorted(f.obsAlice.id, f.obsAlice2.id);
    assert.deepEqual(bundleIds((await alice.get('Observation')).body), own);
    assert.equal((await alice.get('Observation?_summary=count')).body.total, 2);
    assert.equal((await alice.get('Observation?_total=accurate&_count=1')).body.total, 2);
    assert.deepEqual(bundleIds((await alice.get('Patient')).body), [f.alice.id]);
    const checks: Array<[string, string[]]> = [
      ['Observation?_include=Observation:subject', sorted(...own, f.alice.id)],
      ['Patient?_revinclude=Observation:subject', sorted(f.alice.id, ...own)],
      ["Observation?subject:Patient.name=Bob", []],
      ['Observation?subject:Patient.name=Alice', own],
      ['Patient?_has:Observation:subject:status=final', [f.alice.id]],
      ['Patient?_has:Encounter:subject:status=finished', [f.alice.id]],
      ['Encounter?_include=Encounter:subject', sorted(f.encAlice.id, f.alice.id)],
    ];
    for (const [query, expected] of checks) {
      const res = await alice.get(query);
      assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body).slice(0, 300)}`);
      assert.deepEqual(bundleIds(res.body), expected, query);
      assertAbsent(res.body, bobIds, query);
    }
  });

  it('compartment search and $everything of another patient are 404; its own hold nothing of others', async () => {
    assert.equal((await alice.get(`Patient/${f.bob.id}/Observation`)).status, 404);
    assert.equal((await alice.get(`Patient/${f.bob.id}/$everything`)).status, 404);
    assert.deepEqual(bundleIds((await alice.get(`Patient/${f.alice.id}/Observation`)).body), sorted(f.obsAlice.id, f.obsAlice2.id));
    const everything = await alice.get(`Patient/${f.alice.id}/$everything`);
    assert.equal(everything.status, 200);
    assert.deepEqual(bundleIds(everything.body), sorted(f.alice.id, f.obsAlice.id, f.obsAlice2.id, f.encAlice.id));
    assertAbsent(everything.body, bobIds, '$everything');
    assert.ok(!bundleIds(everything.body).includes(f.doctor.id), 'the performer is outside the compartment');
  });

  it('history of a type, of the system and of an instance outside: nothing of others', async () => {
    const type = await alice.get('Observation/_history');
    assert.equal(type.status, 200);
    assertAbsent(type.body, bobIds, 'type history');
    assert.ok(bundleIds(type.body).includes(f.obsAlice.id));
    const system = await alice.get('_history');
    assert.equal(system.status, 200);
    assertAbsent(system.body, bobIds, 'system history');
    assert.ok(!bundleIds(system.body).includes(f.doctor.id));
    const outside = await alice.get(`Observation/${f.obsBob.id}/_history`);
    assertAbsent(outside.body, ['Bobson', `Patient/${f.bob.id}`], 'instance history');
    assert.equal((outside.body.entry ?? []).length, 0);
  });

  it("an instance's history leaves out its versions from before it entered the compartment", async () => {
    const created = await f.admin.post<Observation & { id: string }>('Observation', { resourceType: 'Observation', status: 'preliminary', code: { text: 'Bobson era' }, subject: { reference: `Patient/${f.bob.id}` } });
    assert.equal(created.status, 201);
    const moved = await f.admin.put<Observation & { id: string }>(`Observation/${created.body.id}`, { ...created.body, code: { text: 'moved' }, subject: { reference: `Patient/${f.alice.id}` } });
    assert.equal(moved.status, 200);
    const history = await alice.get<Bundle>(`Observation/${created.body.id}/_history`);
    assert.equal(history.status, 200);
    const versions = (history.body.entry ?? []).map((e) => e.resource?.meta?.versionId);
    assert.deepEqual(versions, [moved.body.meta?.versionId]);
    assertAbsent(history.body, ['Bobson era', `Patient/${f.bob.id}`], 'instance history of a moved resource');
    assert.equal((await alice.get(`Observation/${created.body.id}/_history/${created.body.meta?.versionId}`)).status, 404);
  });

  it('batch entries are checked one by one', async () => {
    const res = await alice.post('', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'GET', url: `Observation/${f.obsBob.id}` } }, { request: { method: 'GET', url: 'Observation?status=final' } }],
    });
    assert.equal(res.status, 200);
    assert.match(res.body.entry[0].response.status, /^404/);
    assert.deepEqual(bundleIds(res.body.entry[1].resource), [f.obsAlice.id]);
    assertAbsent(res.body, bobIds.filter((id) => id !== f.obsBob.id).concat(['Bobson']), 'batch');
  });

  it('writes must start and end inside the compartment', async () => {
    const created = await alice.post('Observation', observation(f.alice, { code: { text: 'own note' } }));
    assert.equal(created.status, 201);
    assert.equal((await alice.post('Observation', observation(f.bob, { code: { text: 'not mine' } }))).status, 403);
    // Moving one's own Observation to Bob: refused, and nothing changed.
    const moved = await alice.put(`Observation/${created.body.id}`, { ...created.body, subject: { reference: `Patient/${f.bob.id}` } });
    assert.equal(moved.status, 403);
    assert.equal((await f.admin.get(`Observation/${created.body.id}`)).body.subject.reference, `Patient/${f.alice.id}`);
    const patched = await alice.patch(`Observation/${created.body.id}`, [{ op: 'replace', path: '/subject/reference', value: `Patient/${f.bob.id}` }]);
    assert.equal(patched.status, 403);
    for (const res of [
      await alice.put(`Observation/${f.obsBob.id}`, { ...f.obsBob, status: 'cancelled' }),
      await alice.patch(`Observation/${f.obsBob.id}`, [{ op: 'replace', path: '/status', value: 'cancelled' }]),
      await alice.delete(`Observation/${f.obsBob.id}`),
    ]) {
      assert.equal(res.status, 404);
    }
    assert.equal((await f.admin.get(`Observation/${f.obsBob.id}`)).body.status, 'final');
    // Conditional update and delete match inside the compartment only.
    const conditional = await alice.put('Observation?code=own-note-code', { ...observation(f.alice), code: { coding: [{ code: 'own-note-code' }] } });
    assert.equal(conditional.status, 201);
    assert.equal((await alice.delete(`Observation?subject=Patient/${f.bob.id}`)).status, 200);
    assert.equal((await f.admin.get(`Observation/${f.obsBobLab.id}`)).status, 200, 'a conditional delete reaches nothing outside');
    assert.equal((await alice.delete(`Observation/${created.body.id}`)).status, 200);
    // A readonly entry with a compartment: no create even inside.
    assert.equal((await alice.post('Encounter', { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${f.alice.id}` } })).status, 403);
  });

  it('the deprecated per-entry compartment limits that entry only', async () => {
    assert.deepEqual(bundleIds((await deprecated.get('Observation')).body), sorted(f.obsBob.id, f.obsBobLab.id));
    assert.equal((await deprecated.get(`Observation/${f.obsAlice.id}`)).status, 404);
    assert.equal((await deprecated.get('Patient?_summary=count')).body.total, 3, 'the Patient entry has no compartment');
  });
});

describe('access policies: compartment validation', () => {
  let server: TestServer;
  let f: PolicyFixture;

  before(async () => {
    server = await startTestServer();
    f = await createPolicyFixture(server);
  });
  after(() => server.close());

  const policyWith = (fields: Partial<AccessPolicy>): AccessPolicy => ({ resourceType: 'AccessPolicy', resource: [{ resourceType: 'Observation' }], ...fields });

  it('saves only Patient compartments: a 400 names the field otherwise', async () => {
    const bad: Array<[Partial<AccessPolicy>, string]> = [
      [{ compartment: { reference: 'Organization/123' } }, 'compartment'],
      [{ compartment: { reference: '%patient.id' } }, 'compartment'],
      [{ compartment: { display: 'no reference' } }, 'compartment'],
      [{ compartment: { reference: 'Patient/a b' } }, 'compartment'],
      [{ resource: [{ resourceType: 'Observation' }, { resourceType: 'Patient', compartment: { reference: 'Practitioner/%profile.id' } }] }, 'resource[1].compartment'],
    ];
    for (const [fields, expression] of bad) {
      const res = await f.admin.post('AccessPolicy', policyWith(fields));
      assert.equal(res.status, 400, JSON.stringify(fields));
      assert.equal(res.body.issue[0].expression[0], expression, JSON.stringify(res.body));
    }
    for (const reference of ['%patient', '%profile', '%guardian', `Patient/${f.alice.id}`, 'Patient/%patient.id']) {
      assert.equal((await f.admin.post('AccessPolicy', policyWith({ compartment: { reference } }))).status, 201, reference);
    }
  });

  it('saves only well-formed IP rules: a 400 names the field otherwise', async () => {
    const bad: Array<[Partial<AccessPolicy>, string]> = [
      [{ ipAccessRule: [{ name: 'office', value: '10.0.0.0/8', action: 'allow' }] }, 'ipAccessRule[0].value'],
      [{ ipAccessRule: [{ value: '*', action: 'allow' }, { name: 'no value', action: 'block' } as AccessPolicyIpAccessRule] }, 'ipAccessRule[1].value'],
      [{ ipAccessRule: [{ value: '10.0.', action: 'deny' as 'block' }] }, 'ipAccessRule[0].action'],
    ];
    for (const [fields, expression] of bad) {
      const res = await f.admin.post('AccessPolicy', policyWith(fields));
      assert.equal(res.status, 400, JSON.stringify(fields));
      assert.equal(res.body.issue[0].expression[0], expression, JSON.stringify(res.body));
    }
    const good = await f.admin.post('AccessPolicy', policyWith({ ipAccessRule: [{ value: '10.0.', action: 'allow' }, { value: '::1', action: 'allow' }, { value: '*', action: 'block' }] }));
    assert.equal(good.status, 201, JSON.stringify(good.body));
  });

  it('refuses an update whose compartment names no Patient for a member using it', async () => {
    const policy = (await f.admin.post<AccessPolicy & { id: string }>('AccessPolicy', policyWith({}))).body;
    await addMember(server, f.projectId, f.doctor, { accessPolicy: { reference: `AccessPolicy/${policy.id}` } });
    const res = await f.admin.put(`AccessPolicy/${policy.id}`, { ...policy, compartment: { reference: '%profile' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.issue[0].expression[0], 'compartment');
  });

  it('at runtime, a compartment that is not a Patient grants nothing', async () => {
    // Written by the server, past validation: as a policy saved before it existed would be.
    const system = new SystemRepository(server.deps);
    const scope = systemScope(f.projectId);
    const org = await system.create<Organization>(scope, { resourceType: 'Organization', name: 'Clinic' });
    const policy = await system.create<AccessPolicy>(scope, policyWith({ compartment: { reference: `Organization/${org.id}` } }));
    const member = (await addMember(server, f.projectId, f.alice, { accessPolicy: { reference: `AccessPolicy/${policy.id}` } })).client;
    assert.equal((await member.get('Observation')).status, 403);
    assert.equal((await member.get(`Observation/${f.obsAlice.id}`)).status, 403);
    // `%profile` of a practitioner: no Patient, nothing reached.
    const profiled = await system.create<AccessPolicy>(scope, policyWith({ compartment: { reference: '%profile' } }));
    const doctor = (await addMember(server, f.projectId, f.doctor, { accessPolicy: { reference: `AccessPolicy/${profiled.id}` } })).client;
    assert.equal((await doctor.get('Observation')).status, 403);
  });
});

describe('access policies: a version\'s own compartment, in memory', () => {
  const entry = (fields: Partial<PolicyEntry>): PolicyEntry => ({
    policy: { reference: 'AccessPolicy/x' },
    index: 0,
    resourceType: '*',
    interactions: new Set(['history']),
    hiddenFields: [],
    readonlyFields: [],
    writeConstraints: [],
    ...fields,
  });
  const patient = (id: string) => ({ resourceType: 'Patient' as const, id });

  it('follows the CompartmentDefinition: subject, performer, the patient itself, a link', () => {
    const alices = entry({ compartment: { reference: 'Patient/alice' } });
    assert.equal(versionInCompartments(alices, observation(patient('alice'))), true);
    assert.equal(versionInCompartments(alices, observation(patient('bob'))), false);
    assert.equal(versionInCompartments(alices, observation(patient('bob'), { performer: [{ reference: 'Patient/alice' }] })), true);
    assert.equal(versionInCompartments(alices, patient('alice')), true);
    assert.equal(versionInCompartments(alices, patient('bob')), false);
    assert.equal(versionInCompartments(alices, { ...patient('bob'), link: [{ type: 'seealso', other: { reference: 'Patient/alice' } }] }), true);
    assert.equal(versionInCompartments(alices, { resourceType: 'Practitioner', id: 'alice' }), false);
  });

  it('needs both compartments, and a Patient compartment', () => {
    assert.equal(versionInCompartments(entry({}), observation(patient('bob'))), true);
    assert.equal(versionInCompartments(entry({ launchPatient: 'alice' }), observation(patient('alice'))), true);
    assert.equal(versionInCompartments(entry({ compartment: { reference: 'Patient/bob' }, launchPatient: 'alice' }), observation(patient('alice'))), false);
    assert.equal(versionInCompartments(entry({ compartment: { reference: 'Organization/alice' } }), observation(patient('alice'))), false);
  });
});
