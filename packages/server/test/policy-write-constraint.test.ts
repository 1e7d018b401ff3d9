/**
 * `AccessPolicy.resource[].writeConstraint[]` (issue 6): FHIRPath with `%before` / `%after` that
 * must be true of a create, PUT, PATCH, conditional write and each batch / transaction entry;
 * a refused write writes nothing. Deletes are not evaluated (docs/SECURITY.md). Entries are a
 * union: a write passes when one entry granting it reaches the resource and all of that entry's
 * constraints hold. An expression that does not parse is refused when the policy is saved, and
 * grants no write when one was stored anyway.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccessPolicy, Observation, Patient, Practitioner } from '@medplum/fhirtypes';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { systemScope } from '../src/fhir/scope.js';
import { OutcomeError } from '../src/fhir/outcomes.js';
import { assertValidWriteConstraints, writeConstraintsHold } from '../src/fhir/access-policy/write-constraint.js';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type FhirClient } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { addMember, observation, type Stored } from './policy-fixture.js';

const SAME_SUBJECT = '%before.exists().not() or %before.subject = %after.subject';

describe('access policies: write constraints', () => {
  let server: TestServer;
  let projectId: string;
  let admin: FhirClient;
  let nurse: FhirClient;
  let alice: Stored<Patient>;
  let bob: Stored<Patient>;
  let doctor: Stored<Practitioner>;

  before(async () => {
    server = await startTestServer();
    const adminMember = await createMember(server, { admin: true });
    projectId = adminMember.projectId;
    admin = fhirClient(server, adminMember.token);
    alice = (await admin.post('Patient', { resourceType: 'Patient', name: [{ given: ['Alice'] }] })).body;
    bob = (await admin.post('Patient', { resourceType: 'Patient', name: [{ given: ['Bob'] }] })).body;
    doctor = (await admin.post('Practitioner', { resourceType: 'Practitioner', name: [{ given: ['Dora'] }] })).body;
    const policy = await admin.post<Stored<AccessPolicy>>('AccessPolicy', {
      resourceType: 'AccessPolicy',
      name: 'No moves, no cancelling',
      resource: [
        {
          resourceType: 'Observation',
          writeConstraint: [
            { language: 'text/fhirpath', expression: SAME_SUBJECT },
            { language: 'text/fhirpath', expression: "status != 'cancelled'" },
          ],
        },
        { resourceType: 'Patient', readonly: true },
      ],
    });
    assert.equal(policy.status, 201, JSON.stringify(policy.body));
    nurse = (await addMember(server, projectId, doctor, { accessPolicy: { reference: `AccessPolicy/${policy.body.id}` } })).client;
  });
  after(() => server.close());

  /** Runs `write`, expects 403, and checks that the project's rows did not change. */
  async function refused(write: () => Promise<{ status: number; body: any; headers: Headers }>): Promise<void> {
    const before = await countRows(server, projectId);
    expectOutcome(await write(), 403);
    assert.deepEqual(await countRows(server, projectId), before);
  }

  async function own(status: Observation['status'] = 'final'): Promise<Stored<Observation>> {
    const res = await nurse.post<Stored<Observation>>('Observation', observation(alice, { status }));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  it('create: allowed when every constraint holds (%before empty), 403 and nothing written otherwise', async () => {
    await own();
    await refused(() => nurse.post('Observation', observation(alice, { status: 'cancelled' })));
  });

  it('PUT: %before forbids moving an Observation to another patient; the stored version is unchanged', async () => {
    const obs = await own();
    await refused(() => nurse.put(`Observation/${obs.id}`, { ...obs, subject: { reference: `Patient/${bob.id}` } }));
    await refused(() => nurse.put(`Observation/${obs.id}`, { ...obs, status: 'cancelled' }));
    const stored = (await admin.get(`Observation/${obs.id}`)).body;
    assert.equal(stored.subject.reference, `Patient/${alice.id}`);
    assert.equal(stored.meta.versionId, obs.meta?.versionId);
    const amended = await nurse.put(`Observation/${obs.id}`, { ...obs, status: 'amended' });
    assert.equal(amended.status, 200, JSON.stringify(amended.body));
  });

  it('PATCH: the same constraints on the patched resource', async () => {
    const obs = await own();
    await refused(() => nurse.patch(`Observation/${obs.id}`, [{ op: 'replace', path: '/subject/reference', value: `Patient/${bob.id}` }]));
    await refused(() => nurse.patch(`Observation/${obs.id}`, [{ op: 'replace', path: '/status', value: 'cancelled' }]));
    assert.equal((await admin.get(`Observation/${obs.id}`)).body.subject.reference, `Patient/${alice.id}`);
    const patched = await nurse.patch(`Observation/${obs.id}`, [{ op: 'replace', path: '/status', value: 'amended' }]);
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
  });

  it('conditional create and conditional update are under the constraints', async () => {
    await refused(() => nurse.post('Observation', observation(alice, { status: 'cancelled', code: { text: 'wc-cond' } }), { 'if-none-exist': 'code:text=wc-cond' }));
    const obs = (await nurse.post('Observation', observation(alice, { code: { text: 'wc-cond' } }), { 'if-none-exist': 'code:text=wc-cond' })).body;
    await refused(() => nurse.put('Observation?code:text=wc-cond', { ...obs, subject: { reference: `Patient/${bob.id}` } }));
    const updated = await nurse.put('Observation?code:text=wc-cond', { ...obs, status: 'amended' });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
  });

  it('batch entries are each checked; a transaction with one refused entry writes nothing', async () => {
    const obs = await own();
    const batch = await nurse.post('', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'POST', url: 'Observation' }, resource: observation(alice) },
        { request: { method: 'POST', url: 'Observation' }, resource: observation(alice, { status: 'cancelled' }) },
        { request: { method: 'PUT', url: `Observation/${obs.id}` }, resource: { ...obs, subject: { reference: `Patient/${bob.id}` } } },
        { request: { method: 'PATCH', url: `Observation/${obs.id}` }, resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify([{ op: 'replace', path: '/status', value: 'cancelled' }])).toString('base64') } },
      ],
    });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    assert.deepEqual(batch.body.entry.map((e: any) => e.response.status.slice(0, 3)), ['201', '403', '403', '403']);
    assert.equal((await admin.get(`Observation/${obs.id}`)).body.meta.versionId, obs.meta?.versionId);
    await refused(() =>
      nurse.post('', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'POST', url: 'Observation' }, resource: observation(alice) },
          { request: { method: 'PUT', url: `Observation/${obs.id}` }, resource: { ...obs, subject: { reference: `Patient/${bob.id}` } } },
        ],
      }),
    );
  });

  it('delete is not evaluated: a member who may delete deletes whatever the constraints say', async () => {
    const cancelled = (await admin.post('Observation', observation(alice, { status: 'cancelled' }))).body;
    assert.equal((await nurse.delete(`Observation/${cancelled.id}`)).status, 200);
  });

  it('entries are a union: one entry that reaches the resource with all its constraints true is enough', async () => {
    const policy = await admin.post('AccessPolicy', {
      resourceType: 'AccessPolicy',
      name: 'Two ways in',
      resource: [
        { resourceType: 'Observation', writeConstraint: [{ language: 'text/fhirpath', expression: "status = 'preliminary'" }] },
        { resourceType: 'Observation', criteria: 'Observation?status=final' },
      ],
    });
    assert.equal(policy.status, 201, JSON.stringify(policy.body));
    const member = (await addMember(server, projectId, doctor, { accessPolicy: { reference: `AccessPolicy/${policy.body.id}` } })).client;
    assert.equal((await member.post('Observation', observation(alice, { status: 'preliminary' }))).status, 201); // the first entry
    const final = await member.post('Observation', observation(alice, { status: 'final' })); // the second entry's criteria
    assert.equal(final.status, 201, JSON.stringify(final.body));
    await refused(() => member.post('Observation', observation(alice, { status: 'amended' }))); // neither
    // The second entry reaches the stored final one but not an amended result; the first's constraint fails.
    await refused(() => member.patch(`Observation/${final.body.id}`, [{ op: 'replace', path: '/status', value: 'amended' }]));
  });

  it('a stored expression that does not parse grants no write (fail closed)', async () => {
    // The server's own write skips save-time validation: a policy stored before it existed.
    const broken = await new SystemRepository(server.deps).create<AccessPolicy>(systemScope(projectId), {
      resourceType: 'AccessPolicy',
      name: 'Broken constraint',
      resource: [{ resourceType: 'Observation', writeConstraint: [{ language: 'text/fhirpath', expression: 'status = ' }] }],
    });
    const member = (await addMember(server, projectId, doctor, { accessPolicy: { reference: `AccessPolicy/${broken.id}` } })).client;
    await refused(() => member.post('Observation', observation(alice)));
  });

  it('refuses a policy with a bad constraint when it is saved, naming it', async () => {
    const bad = (expression: string) => ({ resourceType: 'AccessPolicy', resource: [{ resourceType: 'Observation', writeConstraint: [{ language: 'text/fhirpath', expression: 'true' }, { language: 'text/fhirpath', expression }] }] });
    expectOutcome(await admin.post('AccessPolicy', bad('status = ')), 400, 'resource[0].writeConstraint[1].expression');
    expectOutcome(await admin.post('AccessPolicy', bad('frobnicate()')), 400, 'resource[0].writeConstraint[1].expression');
    const saved = await admin.post('AccessPolicy', bad('true'));
    assert.equal(saved.status, 201, JSON.stringify(saved.body));
    expectOutcome(await admin.put(`AccessPolicy/${saved.body.id}`, { ...bad('%nosuchvariable = 1'), id: saved.body.id }), 400, 'resource[0].writeConstraint[1].expression');
  });
});

describe('write-constraint.ts', () => {
  const entry = (writeConstraint: unknown[]) => ({ resourceType: 'Observation', writeConstraint }) as never;
  const expressionOf = (fn: () => void): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (err) {
      assert.ok(err instanceof OutcomeError);
      assert.equal(err.status, 400);
      return err.outcome.issue?.[0]?.expression?.[0];
    }
  };

  it('assertValidWriteConstraints names the constraint that is wrong', () => {
    assert.equal(expressionOf(() => assertValidWriteConstraints(entry([{ language: 'text/fhirpath', expression: SAME_SUBJECT }]), 'resource[2]')), undefined);
    assert.equal(expressionOf(() => assertValidWriteConstraints(entry([{ expression: 'true' }, { expression: '(((' }]), 'resource[2]')), 'resource[2].writeConstraint[1].expression');
    assert.equal(expressionOf(() => assertValidWriteConstraints(entry([{ language: 'text/fhirpath' }]), 'resource[0]')), 'resource[0].writeConstraint[0].expression');
    assert.equal(expressionOf(() => assertValidWriteConstraints(entry([{ language: 'text/cql', expression: 'true' }]), 'resource[0]')), 'resource[0].writeConstraint[0].language');
    assert.equal(expressionOf(() => assertValidWriteConstraints(entry([{ expression: '%other.exists()' }]), 'resource[0]')), 'resource[0].writeConstraint[0].expression');
  });

  it('writeConstraintsHold: only exactly one true passes', () => {
    const before = observation({ resourceType: 'Patient', id: 'a' } as Patient);
    const moved = observation({ resourceType: 'Patient', id: 'b' } as Patient);
    assert.equal(writeConstraintsHold([SAME_SUBJECT], undefined, moved), true);
    assert.equal(writeConstraintsHold([SAME_SUBJECT], before, before), true);
    assert.equal(writeConstraintsHold([SAME_SUBJECT], before, moved), false);
    assert.equal(writeConstraintsHold(['%before.subject = %after.subject'], undefined, moved), false); // empty, not true
    assert.equal(writeConstraintsHold(['status'], undefined, moved), false); // a string, not true
    assert.equal(writeConstraintsHold(['true | false'], undefined, moved), false); // several values
    assert.equal(writeConstraintsHold(['%nosuch = 1'], undefined, moved), false); // an error
    assert.equal(writeConstraintsHold(['status = '], undefined, moved), false); // does not parse
    assert.equal(writeConstraintsHold([], before, moved), true);
  });
});
