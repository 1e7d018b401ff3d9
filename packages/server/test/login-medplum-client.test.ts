/**
 * Sign-in through the official MedplumClient, unchanged: registration and a new project,
 * password sign-in with one and with several memberships, `/auth/me`, refresh, sign-out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MedplumClient } from '@medplum/core';
import { installBrowserGlobals } from './browser-globals.js';
import { startTestServer, type TestServer } from './harness.js';

const PASSWORD = 'correct horse battery staple';
let n = 0;
const uniqueEmail = (): string => `person-${process.pid}-${Date.now()}-${++n}@example.com`;

function newClient(server: TestServer): MedplumClient {
  return new MedplumClient({ baseUrl: server.baseUrl, fetch: globalThis.fetch.bind(globalThis) });
}

async function register(server: TestServer, email: string, projectName: string): Promise<MedplumClient> {
  const medplum = newClient(server);
  const { login } = await medplum.startNewUser({ firstName: 'Grace', lastName: 'Hopper', email, password: PASSWORD, recaptchaToken: '' });
  const { code } = await medplum.startNewProject({ login, projectName });
  await medplum.processCode(code as string);
  return medplum;
}

describe('MedplumClient sign-in', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
    installBrowserGlobals(server.baseUrl);
  });
  after(() => server.close());

  it('registers a user, creates a project they own as admin, and loads the profile', async () => {
    const email = uniqueEmail();
    const medplum = await register(server, email, 'Hopper Clinic');
    const profile = medplum.getProfile();
    assert.equal(profile?.resourceType, 'Practitioner');
    assert.equal(medplum.getProject()?.name, 'Hopper Clinic');
    const me = await medplum.get('auth/me', { cache: 'no-cache' } as RequestInit);
    assert.equal(me.membership.admin, true);
    assert.equal(me.profile.id, profile?.id);
    assert.equal(JSON.stringify(me).includes('passwordHash'), false);
    // The owner can use the FHIR API of the new project at once.
    const patient = await medplum.createResource({ resourceType: 'Patient', name: [{ family: 'Smith' }] });
    assert.ok(patient.id);
  });

  it('signs in with email and password when the user has one membership', async () => {
    const email = uniqueEmail();
    await register(server, email, 'One Project');
    const medplum = newClient(server);
    const result = await medplum.startLogin({ email, password: PASSWORD });
    assert.ok(result.code, JSON.stringify(result));
    await medplum.processCode(result.code as string);
    assert.equal(medplum.getProject()?.name, 'One Project');
  });

  it('offers a choice of memberships when there are several, then signs in to the chosen one', async () => {
    const email = uniqueEmail();
    const first = await register(server, email, 'First Project');
    // `projectId: 'new'` signs in without a membership, so the user can create a second project.
    const pending = await first.startLogin({ email, password: PASSWORD, projectId: 'new' });
    assert.equal(pending.code, undefined);
    const created = await first.startNewProject({ login: pending.login, projectName: 'Second Project' });
    await first.processCode(created.code as string);

    const medplum = newClient(server);
    const choice = await medplum.startLogin({ email, password: PASSWORD });
    assert.equal(choice.code, undefined);
    assert.equal(choice.memberships?.length, 2);
    const second = choice.memberships?.find((m) => m.project.display === 'Second Project');
    assert.ok(second, JSON.stringify(choice.memberships));
    const chosen = await medplum.post('auth/profile', { login: choice.login, profile: second.id });
    await medplum.processCode(chosen.code);
    assert.equal(medplum.getProject()?.name, 'Second Project');
    // A login whose membership is chosen cannot be used to make another project.
    await assert.rejects(() => medplum.startNewProject({ login: choice.login, projectName: 'Third' }));
  });

  it('refuses a wrong password with the same answer as an unknown email', async () => {
    const email = uniqueEmail();
    await register(server, email, 'Secret Project');
    const wrong = await fetch(`${server.baseUrl}auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'not the password' }) });
    const unknown = await fetch(`${server.baseUrl}auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: uniqueEmail(), password: 'not the password' }) });
    assert.equal(wrong.status, 400);
    assert.equal(unknown.status, 400);
    assert.deepEqual(await wrong.json(), await unknown.json());
  });

  it('signs out: the old access token stops working', async () => {
    const medplum = await register(server, uniqueEmail(), 'Sign-out Project');
    const token = medplum.getAccessToken() as string;
    const before = await fetch(`${server.fhirUrl}Patient/_history`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(before.status, 200);
    await medplum.signOut();
    const afterRes = await fetch(`${server.fhirUrl}Patient/_history`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(afterRes.status, 401);
  });
});

describe('MedplumClient refresh', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ env: { ACCESS_TOKEN_LIFETIME_SECONDS: '60' }, followRealTime: true });
    installBrowserGlobals(server.baseUrl);
  });
  after(() => server.close());

  it('refreshes an expiring access token with its rotated refresh token, and keeps working', async () => {
    const email = uniqueEmail();
    await register(server, email, 'Refresh Project');
    // The client refreshes a token that expires within its grace period: 55 of the token's 60 s,
    // so a token counts as expiring 5 s after it was issued (the server's clock follows real time).
    const medplum = new MedplumClient({ baseUrl: server.baseUrl, fetch: globalThis.fetch.bind(globalThis), refreshGracePeriod: 55_000 });
    const { code } = await medplum.startLogin({ email, password: PASSWORD, scope: 'openid offline' });
    await medplum.processCode(code as string);
    const firstAccess = medplum.getAccessToken();
    const firstRefresh = medplum.getActiveLogin()?.refreshToken;
    assert.ok(firstRefresh, 'offline scope gives a refresh token');
    await new Promise((resolve) => setTimeout(resolve, 5500));

    const patient = await medplum.createResource({ resourceType: 'Patient', name: [{ family: 'Refresh' }] });
    assert.ok(patient.id);
    assert.notEqual(medplum.getAccessToken(), firstAccess, 'the client refreshed before the request');
    assert.notEqual(medplum.getActiveLogin()?.refreshToken, firstRefresh, 'the refresh token rotated');

    // The first refresh token was used once: presenting it again is refused and ends the sign-in.
    const replay = await fetch(`${server.baseUrl}oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: firstRefresh as string }).toString(),
    });
    assert.equal(replay.status, 400);
    const after = await fetch(`${server.fhirUrl}Patient/${patient.id}`, { headers: { authorization: `Bearer ${medplum.getAccessToken()}` } });
    assert.equal(after.status, 401);
  });
});
