/**
 * The invite (`POST /admin/projects/:projectId/invite`) through MedplumClient and plain HTTP,
 * with a real SMTP server: the seed guide's own curl payload, each profile type with and
 * without email, the emailed link followed to a password and a sign-in, an existing user's
 * notice, 409 and upsert.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MedplumClient } from '@medplum/core';
import type { AccessPolicy, Patient, ProjectMembership, User } from '@medplum/fhirtypes';
import { createAccount, exchangeCode, pkce, post, uniqueEmail } from './auth-client.js';
import { installBrowserGlobals } from './browser-globals.js';
import { createMember, fhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';

const NEW_PASSWORD = 'a brand new invitee passphrase';

interface AdminResponse {
  status: number;
  headers: Headers;
  body: any;
}

/** POSTs JSON (or a raw string, sent as it is) to an admin path with the admin's token. */
async function adminPost(server: TestServer, token: string, path: string, body: unknown): Promise<AdminResponse> {
  const res = await fetch(new URL(path, server.baseUrl), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

describe('invite', () => {
  let sink: SmtpSink;
  let server: TestServer;
  let admin: TestMember;

  before(async () => {
    sink = await startSmtpSink();
    server = await startTestServer({ env: { SMTP_URL: sink.url }, followRealTime: true });
    installBrowserGlobals(server.baseUrl);
    admin = await createMember(server);
  });
  after(async () => {
    await server.close();
    await sink.close();
  });

  const invite = (body: unknown, member: TestMember = admin) => adminPost(server, member.token, `admin/projects/${member.projectId}/invite`, body);

  /** The set-password link of the newest mail to `email`. */
  async function linkFor(email: string): Promise<{ id: string; secret: string }> {
    const mail = await sink.waitForMail((m) => m.envelopeTo.includes(email) && m.links.some((l) => l.includes('/setpassword/')));
    const url = mail.links.find((l) => l.startsWith(`${server.baseUrl}setpassword/`));
    assert.ok(url, mail.text);
    const [id, secret] = url.slice(`${server.baseUrl}setpassword/`.length).split('/');
    return { id: id as string, secret: secret as string };
  }

  /** Sets the password from the mailed link, signs in (in `projectId` for a project-scoped user) and returns an access token. */
  async function acceptAndSignIn(email: string, projectId?: string): Promise<string> {
    const { id, secret } = await linkFor(email);
    const set = await post(server, 'auth/setpassword', { id, secret, password: NEW_PASSWORD });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const { verifier, challenge } = pkce();
    const login = await post(server, 'auth/login', { email, password: NEW_PASSWORD, codeChallenge: challenge, codeChallengeMethod: 'S256', ...(projectId ? { projectId } : {}) });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.ok(login.body.code, JSON.stringify(login.body));
    return (await exchangeCode(server, login.body.code, verifier)).accessToken;
  }

  const system = () => new SystemRepository(server.deps);

  it("accepts the seed guide's curl payload: repeated resourceType, sendEmail as the string \"false\"", async () => {
    const email = uniqueEmail('homer');
    const raw = `{"resourceType":"Patient","firstName":"Homer","lastName":"Simpson","resourceType":"Patient","email":"${email.toUpperCase()}", "sendEmail":"false"}`;
    const res = await invite(raw);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json/);
    assert.equal(res.headers.get('x-tessera-email'), 'none');
    const membership = res.body as ProjectMembership & { id: string };
    assert.equal(membership.resourceType, 'ProjectMembership');
    assert.equal(membership.project.reference, `Project/${admin.projectId}`);
    assert.equal(membership.user?.display, email, 'the email is stored lower-cased');
    assert.match(membership.profile.reference ?? '', /^Patient\//);
    assert.equal(membership.profile.display, 'Homer Simpson');
    assert.equal(membership.invitedBy?.reference, `User/${admin.userId}`);
    // A Patient's User is project-scoped by default.
    const userId = membership.user.reference?.split('/')[1] as string;
    const user = await system().read<User>(systemScope(admin.projectId), 'User', userId);
    assert.equal(user?.project?.reference, `Project/${admin.projectId}`);
    assert.equal(user?.passwordHash, undefined);
    // The profile is the project's, with the name and email; the invite is in the audit log.
    const fhir = fhirClient(server, admin.token);
    const patient = await fhir.get<Patient>(membership.profile.reference as string);
    assert.equal(patient.body.name?.[0]?.family, 'Simpson');
    assert.equal(patient.body.telecom?.[0]?.value, email);
    const audit = await fhir.get(`AuditEvent?entity=ProjectMembership/${membership.id}`);
    assert.equal(audit.body.entry?.length, 1, JSON.stringify(audit.body));
    assert.equal(audit.body.entry[0].resource.subtype[0].code, 'invite');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(sink.messages.filter((m) => m.envelopeTo.includes(email)).length, 0, 'sendEmail "false" sends nothing');
  });

  it('invites a Practitioner with MedplumClient, mails a link, and the invitee sets a password and signs in', async () => {
    const medplum = new MedplumClient({ baseUrl: server.baseUrl, fetch: globalThis.fetch.bind(globalThis) });
    medplum.setAccessToken(admin.token);
    const email = uniqueEmail('doc');
    const membership = (await medplum.invite(admin.projectId, { resourceType: 'Practitioner', firstName: 'Julius', lastName: 'Hibbert', email })) as ProjectMembership;
    assert.equal(membership.resourceType, 'ProjectMembership');
    assert.match(membership.profile.reference ?? '', /^Practitioner\//);
    const mail = await sink.waitForMail((m) => m.envelopeTo.includes(email));
    assert.match(mail.subject, /invited/);
    const token = await acceptAndSignIn(email);
    const me = fhirClient(server, token);
    const profile = await me.get(membership.profile.reference as string);
    assert.equal(profile.status, 200);
    assert.equal(profile.body.name[0].given[0], 'Julius');
    // A Practitioner's User is server-wide.
    const userId = membership.user.reference?.split('/')[1] as string;
    assert.ok(await system().read<User>(systemScope(SYSTEM_PROJECT_ID), 'User', userId));
  });

  for (const resourceType of ['Patient', 'Practitioner', 'RelatedPerson'] as const) {
    it(`invites a ${resourceType} with an email: link, password, sign-in into the project`, async () => {
      const email = uniqueEmail(resourceType.toLowerCase());
      const extra = resourceType === 'RelatedPerson' ? { patient: { reference: await newPatient() } } : {};
      const res = await invite({ resourceType, firstName: 'Marge', lastName: 'Bouvier', email, ...extra });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.headers.get('x-tessera-email'), 'sent');
      const token = await acceptAndSignIn(email, resourceType === 'Patient' ? admin.projectId : undefined);
      const me = await fetch(new URL('auth/me', server.baseUrl), { headers: { authorization: `Bearer ${token}` } });
      const body: any = await me.json();
      assert.equal(body.membership.id, res.body.id);
      assert.equal(body.profile.resourceType, resourceType);
      if (resourceType === 'RelatedPerson') assert.equal(body.profile.patient.reference, extra.patient?.reference);
    });

    it(`invites a ${resourceType} without an email (externalId only): no User email, no mail`, async () => {
      const externalId = `ext-${resourceType}-${uniqueEmail('x')}`;
      const extra = resourceType === 'RelatedPerson' ? { patient: { reference: await newPatient() } } : {};
      const seen = sink.messages.length;
      const res = await invite({ resourceType, firstName: 'Bart', lastName: 'Simpson', externalId, ...extra });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.headers.get('x-tessera-email'), 'none');
      assert.equal(res.body.externalId, externalId);
      const userId = res.body.user.reference.split('/')[1];
      const user = await system().read<User>(systemScope(admin.projectId), 'User', userId);
      assert.equal(user?.project?.reference, `Project/${admin.projectId}`, 'an externalId makes the User project-scoped');
      assert.equal(user?.email, undefined);
      assert.equal(sink.messages.length, seen);
      // The same externalId again is a conflict.
      const again = await invite({ resourceType, firstName: 'Bart', lastName: 'Simpson', externalId, ...extra });
      assert.equal(again.status, 409, JSON.stringify(again.body));
      assert.ok(again.body.issue[0].expression.includes('externalId'));
    });
  }

  async function newPatient(): Promise<string> {
    const created = await fhirClient(server, admin.token).post<Patient & { id: string }>('Patient', { resourceType: 'Patient', name: [{ family: 'Simpson' }] });
    assert.equal(created.status, 201);
    return `Patient/${created.body.id}`;
  }

  it('tells an existing user they were added, without a link, and keeps their password', async () => {
    const account = await createAccount(server);
    const res = await invite({ resourceType: 'Practitioner', firstName: 'Pat', lastName: 'Word', email: account.email });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const mail = await sink.waitForMail((m) => m.envelopeTo.includes(account.email) && /added/.test(m.subject));
    assert.equal(mail.links.some((l) => l.includes('setpassword')), false, mail.text);
    const { challenge } = pkce();
    const login = await post(server, 'auth/login', { email: account.email, password: account.password, codeChallenge: challenge, codeChallengeMethod: 'S256' });
    assert.equal(login.status, 200);
    assert.equal(login.body.memberships?.length, 2, 'their own project and the new one');
  });

  it('answers 409 to a second invite of the same email, and updates the membership with upsert', async () => {
    const email = uniqueEmail('twice');
    const first = await invite({ resourceType: 'Practitioner', firstName: 'Ned', lastName: 'Flanders', email, sendEmail: false });
    assert.equal(first.status, 200);
    const second = await invite({ resourceType: 'Practitioner', firstName: 'Ned', lastName: 'Flanders', email: email.toUpperCase(), sendEmail: false });
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.equal(second.body.resourceType, 'OperationOutcome');

    const policy = await fhirClient(server, admin.token).post<AccessPolicy & { id: string }>('AccessPolicy', { resourceType: 'AccessPolicy', name: 'Read only', resource: [{ resourceType: 'Patient', readonly: true }] });
    assert.equal(policy.status, 201);
    const upserted = await invite({
      resourceType: 'Practitioner',
      firstName: 'Ned',
      lastName: 'Flanders',
      email,
      sendEmail: false,
      upsert: true,
      membership: { admin: true, accessPolicy: { reference: `AccessPolicy/${policy.body.id}` } },
    });
    assert.equal(upserted.status, 200, JSON.stringify(upserted.body));
    assert.equal(upserted.body.id, first.body.id, 'the same membership');
    assert.equal(upserted.body.admin, true);
    assert.equal(upserted.body.accessPolicy.reference, `AccessPolicy/${policy.body.id}`);
    assert.equal(upserted.body.profile.reference, first.body.profile.reference);
    assert.notEqual(upserted.body.meta.versionId, first.body.meta.versionId);

    // Upsert onto another profile is refused.
    const other = await fhirClient(server, admin.token).post('Practitioner', { resourceType: 'Practitioner', name: [{ family: 'Other' }] });
    const moved = await invite({ resourceType: 'Practitioner', firstName: 'Ned', lastName: 'Flanders', email, upsert: true, membership: { profile: { reference: `Practitioner/${other.body.id}` } } });
    assert.equal(moved.status, 409, JSON.stringify(moved.body));
  });

  it("sets the admin's chosen password on a new user, who signs in with it at once", async () => {
    const email = uniqueEmail('preset');
    const res = await invite({ resourceType: 'Practitioner', firstName: 'Edna', lastName: 'Krabappel', email, password: 'a chosen starting passphrase', sendEmail: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { challenge } = pkce();
    const login = await post(server, 'auth/login', { email, password: 'a chosen starting passphrase', codeChallenge: challenge, codeChallengeMethod: 'S256' });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.ok(login.body.code);
  });

  it('reuses a profile named in membership.profile and an existing one with the same email', async () => {
    const fhir = fhirClient(server, admin.token);
    const named = await fhir.post('Practitioner', { resourceType: 'Practitioner', name: [{ family: 'Named' }] });
    const a = await invite({ resourceType: 'Practitioner', firstName: 'A', lastName: 'B', email: uniqueEmail('named'), sendEmail: false, membership: { profile: { reference: `Practitioner/${named.body.id}` } } });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(a.body.profile.reference, `Practitioner/${named.body.id}`);
    const email = uniqueEmail('existing');
    const existing = await fhir.post('Practitioner', { resourceType: 'Practitioner', name: [{ family: 'Existing' }], telecom: [{ system: 'email', value: email }] });
    const b = await invite({ resourceType: 'Practitioner', firstName: 'C', lastName: 'D', email, sendEmail: false });
    assert.equal(b.status, 200, JSON.stringify(b.body));
    assert.equal(b.body.profile.reference, `Practitioner/${existing.body.id}`);
  });

  it('a super admin invites into another project named in the path', async () => {
    const superAdmin = await createMember(server, { superAdmin: true });
    const email = uniqueEmail('super');
    const res = await adminPost(server, superAdmin.token, `admin/projects/${admin.projectId}/invite`, { resourceType: 'Practitioner', firstName: 'S', lastName: 'A', email, sendEmail: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.project.reference, `Project/${admin.projectId}`);
  });
});
