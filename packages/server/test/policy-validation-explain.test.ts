/**
 * Saving an AccessPolicy validates it (a 400 naming the entry, nothing written), chained
 * criteria are enforced, and `$explain` tells an admin what a member's policy does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccessPolicy } from '@medplum/fhirtypes';
import { countRows } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { addMember, bundleIds, createPolicyFixture, type PolicyFixture } from './policy-fixture.js';

describe('access policies: validation on save, chained criteria, $explain', () => {
  let server: TestServer;
  let f: PolicyFixture;

  before(async () => {
    server = await startTestServer();
    f = await createPolicyFixture(server);
  });
  after(() => server.close());

  const policy = (resource: AccessPolicy['resource']): AccessPolicy => ({ resourceType: 'AccessPolicy', name: 'p', resource });

  it('refuses criteria that would not work, naming the entry, and writes nothing', async () => {
    const cases: Array<[AccessPolicy['resource'], string]> = [
      [[{ resourceType: 'Patient' }, { resourceType: 'Observation', criteria: 'Observation?colour=red' }], 'resource[1].criteria'],
      [[{ resourceType: 'Observation', criteria: 'Patient?_id=1' }], 'resource[0].criteria'],
      [[{ resourceType: 'Observation', criteria: 'Observation?subject=%patient&_count=5' }], 'resource[0].criteria'],
      [[{ resourceType: '*', criteria: '*?_id=1' }], 'resource[0].criteria'],
      [[{ resourceType: 'Observation', criteria: 'Observation?subject:Patient.organization.partof.name=x' }], 'resource[0].criteria'],
      [[{ resourceType: 'Observation', criteria: 'Observation?code:fancy=1' }], 'resource[0].criteria'],
      [[{ resourceType: 'Nonsense' }], 'resource[0].resourceType'],
      [[{ resourceType: 'Patient', interaction: ['read', 'peek' as 'read'] }], 'resource[0].interaction[1]'],
      [[{ resourceType: 'Patient', hiddenFields: ['name..family'] }], 'resource[0].hiddenFields[0]'],
    ];
    for (const [resource, expression] of cases) {
      const before = await countRows(server, f.projectId);
      const res = await f.admin.post('AccessPolicy', policy(resource));
      assert.equal(res.status, 400, `${JSON.stringify(resource)}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(res.body.issue[0].expression, [expression]);
      assert.deepEqual(await countRows(server, f.projectId), before);
    }
    // A member may not write policies at all.
    assert.equal((await f.patient.post('AccessPolicy', policy([{ resourceType: 'Patient' }]))).status, 403);
  });

  it('refuses an update that uses a parameter a member of the policy does not provide', async () => {
    const changed = { ...f.policies.param, resource: [...(f.policies.param.resource ?? []), { resourceType: 'Encounter', criteria: 'Encounter?service-provider=%site' }] };
    const res = await f.admin.put(`AccessPolicy/${f.policies.param.id}`, changed);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(res.body.issue[0].expression, ['resource[2].criteria']);
    assert.match(res.body.issue[0].details.text, /%site/);
    // The same with a parameter the member does provide is fine.
    const ok = { ...f.policies.param, resource: [...(f.policies.param.resource ?? []), { resourceType: 'Encounter', criteria: 'Encounter?subject=%patient' }] };
    assert.equal((await f.admin.put(`AccessPolicy/${f.policies.param.id}`, ok)).status, 200);
  });

  it('enforces chained criteria in SQL (Observation?subject:Patient.general-practitioner=%profile)', async () => {
    const saved = await f.admin.post('AccessPolicy', policy([
      { resourceType: 'Observation', criteria: 'Observation?subject:Patient.general-practitioner=%profile' },
      { resourceType: 'Patient', criteria: 'Patient?general-practitioner=%profile' },
    ]));
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    const gp = await addMember(server, f.projectId, f.doctor, { accessPolicy: { reference: `AccessPolicy/${saved.body.id}` } });
    await f.admin.put(`Patient/${f.carol.id}`, { ...f.carol, generalPractitioner: [{ reference: `Practitioner/${f.doctor.id}` }] });
    assert.deepEqual(bundleIds((await gp.client.get('Observation')).body), [f.obsCarol.id]);
    assert.equal((await gp.client.get(`Observation/${f.obsAlice.id}`)).status, 404);
    assert.equal((await gp.client.get(`Observation/${f.obsCarol.id}`)).status, 200);
  });

  it('$explain answers allowed or denied, the deciding entry and the hidden fields', async () => {
    const explain = (membership: string, body: unknown) => f.admin.post(`../../admin/projects/${f.projectId}/members/${membership}/$explain`, body, { 'content-type': 'application/json' });
    const own = await explain(f.memberships.patient, { interaction: 'read', reference: `Observation/${f.obsAlice.id}` });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.equal(own.body.allowed, true);
    assert.deepEqual(own.body.decidedBy, { policy: { reference: `AccessPolicy/${f.policies.patient.id}`, display: 'Patient self' }, entry: 1 });
    const other = await explain(f.memberships.patient, { interaction: 'read', reference: `Observation/${f.obsBob.id}` });
    assert.equal(other.body.allowed, false);
    assert.equal(other.body.decidedBy, null);
    const write = await explain(f.memberships.patient, { interaction: 'update', reference: `Encounter/${f.encAlice.id}` });
    assert.equal(write.body.allowed, false);
    assert.match(write.body.reason, /No policy entry grants update on Encounter/);
    const hidden = await explain(f.memberships.hidden, { interaction: 'search', resourceType: 'Patient', query: 'birthdate=1961' });
    assert.equal(hidden.body.allowed, false);
    assert.deepEqual(hidden.body.hiddenFields, ['birthDate', 'name.family', 'telecom']);
    const fine = await explain(f.memberships.hidden, { interaction: 'search', resourceType: 'Patient', query: 'given=Alice' });
    assert.equal(fine.body.allowed, true);
    const bad = await explain(f.memberships.patient, { interaction: 'peek', reference: 'Observation/1' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.issue[0].expression, ['interaction']);
    // Only an admin of the project may ask.
    const byMember = await f.patient.post(`../../admin/projects/${f.projectId}/members/${f.memberships.patient}/$explain`, { interaction: 'read', reference: `Observation/${f.obsAlice.id}` }, { 'content-type': 'application/json' });
    assert.equal(byMember.status, 403);
  });
});
