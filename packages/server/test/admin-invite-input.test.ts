/**
 * Every bad invite is a 400 OperationOutcome whose `expression` names the field, and writes
 * nothing: the project's rows are counted before and after, and no User with the email exists.
 * Also who may invite: a non-admin and another project's admin get 403 and nothing is created.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccessPolicy, Patient } from '@medplum/fhirtypes';
import { uniqueEmail } from './auth-client.js';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';
import { findUserByEmail } from '../src/auth/login-flow.js';

async function adminPost(server: TestServer, token: string | undefined, path: string, body: unknown) {
  const res = await fetch(new URL(path, server.baseUrl), {
    method: 'POST',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

describe('invite: bad input and who may invite', () => {
  let sink: SmtpSink;
  let server: TestServer;
  let admin: TestMember;
  let other: TestMember;
  let otherPolicy: string;
  let otherPractitioner: string;
  let otherPatient: string;
  let ownPatient: string;
  let ownPolicy: string;

  before(async () => {
    sink = await startSmtpSink();
    server = await startTestServer({ env: { SMTP_URL: sink.url } });
    admin = await createMember(server);
    other = await createMember(server);
    const otherFhir = fhirClient(server, other.token);
    otherPolicy = (await otherFhir.post<AccessPolicy & { id: string }>('AccessPolicy', { resourceType: 'AccessPolicy', name: 'theirs', resource: [{ resourceType: 'Patient' }] })).body.id;
    otherPractitioner = (await otherFhir.post('Practitioner', { resourceType: 'Practitioner', name: [{ family: 'Theirs' }] })).body.id;
    otherPatient = (await otherFhir.post<Patient & { id: string }>('Patient', { resourceType: 'Patient', name: [{ family: 'Theirs' }] })).body.id;
    const fhir = fhirClient(server, admin.token);
    ownPatient = (await fhir.post<Patient & { id: string }>('Patient', { resourceType: 'Patient', name: [{ family: 'Ours' }] })).body.id;
    ownPolicy = (await fhir.post<AccessPolicy & { id: string }>('AccessPolicy', { resourceType: 'AccessPolicy', name: 'ours', resource: [{ resourceType: 'Patient' }] })).body.id;
  });
  after(async () => {
    await server.close();
    await sink.close();
  });

  /** Sends the invite, expects 400 naming `field`, and proves nothing was written or mailed. */
  async function refused(body: Record<string, unknown> | string, field: string | undefined, email?: string): Promise<void> {
    const before = await countRows(server, admin.projectId);
    const mails = sink.messages.length;
    const res = await adminPost(server, admin.token, `admin/projects/${admin.projectId}/invite`, body);
    expectOutcome(res, 400, field);
    assert.deepEqual(await countRows(server, admin.projectId), before, 'rows of the project');
    if (email) {
      assert.equal(await findUserByEmail(server.deps, email, admin.projectId), undefined, 'no User was made');
    }
    assert.equal(sink.messages.length, mails, 'no mail');
  }

  const valid = () => ({ resourceType: 'Practitioner', firstName: 'Lisa', lastName: 'Simpson', email: uniqueEmail('bad') });

  const cases: Array<[string, (v: Record<string, unknown>) => Record<string, unknown>, string | undefined]> = [
    ['an unknown resourceType', (v) => ({ ...v, resourceType: 'Organization' }), 'resourceType'],
    ['no resourceType', ({ resourceType: _r, ...v }) => v, 'resourceType'],
    ['no firstName', ({ firstName: _f, ...v }) => v, 'firstName'],
    ['an empty lastName', (v) => ({ ...v, lastName: '  ' }), 'lastName'],
    ['a number as firstName', (v) => ({ ...v, firstName: 42 }), 'firstName'],
    ['an invalid email', (v) => ({ ...v, email: 'not-an-email' }), 'email'],
    ['an email with a line break', (v) => ({ ...v, email: 'a@example.com\r\nBcc: b@example.com' }), 'email'],
    ['a number as email', (v) => ({ ...v, email: 7 }), 'email'],
    ['neither email nor externalId', ({ email: _e, ...v }) => v, 'email'],
    ['sendEmail "yes"', (v) => ({ ...v, sendEmail: 'yes' }), 'sendEmail'],
    ['sendEmail 0', (v) => ({ ...v, sendEmail: 0 }), 'sendEmail'],
    ['an unknown scope', (v) => ({ ...v, scope: 'galaxy' }), 'scope'],
    ['upsert as a string', (v) => ({ ...v, upsert: 'true' }), 'upsert'],
    ['forceNewMembership as a number', (v) => ({ ...v, forceNewMembership: 1 }), 'forceNewMembership'],
    ['admin as a string', (v) => ({ ...v, admin: 'yes' }), 'admin'],
    ['a too short password', (v) => ({ ...v, password: 'short' }), 'password'],
    ['a common password', (v) => ({ ...v, password: 'password123' }), 'password'],
    ['an externalId that is not a string', (v) => ({ ...v, externalId: { id: 1 } }), 'externalId'],
    ['accessPolicy not a reference to an AccessPolicy', (v) => ({ ...v, accessPolicy: { reference: 'Patient/123' } }), 'accessPolicy.reference'],
    ['membership not an object', (v) => ({ ...v, membership: 'admin' }), 'membership'],
    ['membership.admin as a string', (v) => ({ ...v, membership: { admin: 'true' } }), 'membership.admin'],
    ['membership.project (not an invite field)', (v) => ({ ...v, membership: { project: { reference: 'Project/x' } } }), 'membership.project'],
    ['membership.user (not an invite field)', (v) => ({ ...v, membership: { user: { reference: 'User/x' } } }), 'membership.user'],
    ['membership.access without a policy', (v) => ({ ...v, membership: { access: [{ parameter: [] }] } }), 'membership.access.0.policy'],
    ['patient for a Practitioner', (v) => ({ ...v, patient: { reference: 'Patient/123' } }), 'patient'],
    ['patient not a Patient reference', (v) => ({ ...v, resourceType: 'RelatedPerson', patient: { reference: 'Practitioner/1' } }), 'patient.reference'],
  ];
  for (const [name, change, field] of cases) {
    it(`refuses ${name}`, async () => {
      const body = change(valid());
      await refused(body, field, typeof body.email === 'string' ? body.email : undefined);
    });
  }

  it('refuses a body that is not an object', async () => {
    await refused('[{"resourceType":"Patient"}]', undefined);
  });

  it("refuses another project's access policy, top-level and in the template", async () => {
    const v = valid();
    await refused({ ...v, accessPolicy: { reference: `AccessPolicy/${otherPolicy}` } }, 'accessPolicy', v.email);
    await refused({ ...v, membership: { accessPolicy: { reference: `AccessPolicy/${otherPolicy}` } } }, 'membership.accessPolicy', v.email);
    await refused({ ...v, membership: { access: [{ policy: { reference: `AccessPolicy/${ownPolicy}` } }, { policy: { reference: `AccessPolicy/${otherPolicy}` } }] } }, 'membership.access.1.policy', v.email);
    await refused({ ...v, accessPolicy: { reference: 'AccessPolicy/no-such-policy' } }, 'accessPolicy', v.email);
  });

  it("refuses a membership.profile of another project, or of another type than resourceType", async () => {
    const v = valid();
    await refused({ ...v, membership: { profile: { reference: `Practitioner/${otherPractitioner}` } } }, 'membership.profile', v.email);
    await refused({ ...v, membership: { profile: { reference: `Patient/${ownPatient}` } } }, 'membership.profile', v.email);
    await refused({ ...v, membership: { profile: { reference: 'Bot/abc' } } }, 'membership.profile.reference', v.email);
  });

  it("refuses a RelatedPerson without a patient, or with another project's patient", async () => {
    const v = { ...valid(), resourceType: 'RelatedPerson' };
    await refused(v, 'patient', v.email);
    await refused({ ...v, patient: { reference: `Patient/${otherPatient}` } }, 'patient', v.email);
  });

  it('refuses a non-admin member with 403 and creates nothing', async () => {
    const member = await createMember(server, { projectId: admin.projectId, admin: false });
    const before = await countRows(server, admin.projectId);
    const email = uniqueEmail('nonadmin');
    const res = await adminPost(server, member.token, `admin/projects/${admin.projectId}/invite`, { resourceType: 'Practitioner', firstName: 'N', lastName: 'A', email });
    expectOutcome(res, 403);
    assert.deepEqual(await countRows(server, admin.projectId), before);
    assert.equal(await findUserByEmail(server.deps, email), undefined);
  });

  it("refuses another project's admin with 403 and creates nothing in either project", async () => {
    const before = await countRows(server, admin.projectId);
    const beforeOther = await countRows(server, other.projectId);
    const email = uniqueEmail('intruder');
    const res = await adminPost(server, other.token, `admin/projects/${admin.projectId}/invite`, { resourceType: 'Practitioner', firstName: 'I', lastName: 'N', email });
    expectOutcome(res, 403);
    assert.deepEqual(await countRows(server, admin.projectId), before);
    assert.deepEqual(await countRows(server, other.projectId), beforeOther);
    assert.equal(await findUserByEmail(server.deps, email), undefined);
  });

  it('refuses a request without a token with 401', async () => {
    const res = await adminPost(server, undefined, `admin/projects/${admin.projectId}/invite`, valid());
    expectOutcome(res, 401);
  });
});
