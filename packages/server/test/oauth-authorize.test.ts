/**
 * The sign-in page of `/oauth2/authorize` as a person uses it: the request sent as a POST
 * (SMART `authorize-post`), a choice between two profiles, the TOTP step of an MFA-enrolled
 * user; and the discovery documents and userinfo's RFC 6750 answers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Patient, ProjectMembership, User } from '@medplum/fhirtypes';
import { newTotpSecret, totpCode } from '../src/auth/mfa-totp.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import type { TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import {
  authorizeUrl,
  formToken,
  memberWithPassword,
  membershipChoices,
  PASSWORD,
  pkcePair,
  REDIRECT_URI,
  redirectParams,
  registerClient,
  ScriptedBrowser,
  tokenRequest,
  type RegisteredClient,
} from './oauth-fixtures.js';

let server: TestServer;
let member: TestMember;
let client: RegisteredClient;

before(async () => {
  server = await startTestServer();
  member = await memberWithPassword(server);
  client = await registerClient(server, member, { name: 'Chart <Viewer>' });
});
after(() => server.close());

async function exchange(code: string, verifier: string): Promise<any> {
  const res = await tokenRequest(server, { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: client.id, redirect_uri: REDIRECT_URI });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

describe('the sign-in page', () => {
  it('accepts the authorization request as a POST and escapes the client name', async () => {
    const { verifier, challenge } = pkcePair();
    const browser = new ScriptedBrowser(server);
    const request = Object.fromEntries(new URL(authorizeUrl(server, { client_id: client.id, code_challenge: challenge, code_challenge_method: 'S256' })).searchParams);
    const page = await browser.post(request);
    assert.equal(page.status, 200);
    assert.match(page.html, /Sign in to Chart &lt;Viewer&gt;/);
    const landed = await browser.post({ _form: 'sign-in', csrf_token: formToken(page.html), email: member.email.toUpperCase(), password: PASSWORD });
    assert.equal(landed.status, 303);
    assert.equal(redirectParams(landed).get('state'), 'st-1');
    const tokens = await exchange(redirectParams(landed).get('code') as string, verifier);
    assert.deepEqual(tokens.profile, { reference: member.profile });
  });

  it('offers a choice when the user has two profiles in the project, and uses the one chosen', async () => {
    const system = new SystemRepository(server.deps);
    const scope = systemScope(member.projectId);
    const patient = await system.create<Patient>(scope, { resourceType: 'Patient', name: [{ family: 'Self' }] });
    const second = await system.create<ProjectMembership>(scope, {
      resourceType: 'ProjectMembership',
      project: { reference: `Project/${member.projectId}` },
      user: { reference: `User/${member.userId}` },
      profile: { reference: `Patient/${patient.id}`, display: 'Self as patient' },
      active: true,
    });
    const { verifier, challenge } = pkcePair();
    const browser = new ScriptedBrowser(server);
    const page = await browser.get(authorizeUrl(server, { client_id: client.id, scope: 'openid launch/patient', code_challenge: challenge, code_challenge_method: 'S256' }));
    const choice = await browser.post({ _form: 'sign-in', csrf_token: formToken(page.html), email: member.email, password: PASSWORD });
    assert.equal(choice.status, 200);
    assert.deepEqual(membershipChoices(choice.html).sort(), [member.membershipId, second.id].sort());
    assert.match(choice.html, /Self as patient/);
    const wrong = await browser.post({ _form: 'choose', csrf_token: formToken(choice.html), membership: '00000000-0000-4000-8000-000000000000' });
    assert.equal(wrong.status, 400);
    const landed = await browser.post({ _form: 'choose', csrf_token: formToken(wrong.html), membership: second.id });
    const tokens = await exchange(redirectParams(landed).get('code') as string, verifier);
    assert.deepEqual(tokens.profile, { reference: `Patient/${patient.id}` });
    assert.equal(tokens.patient, patient.id);
    await system.update<ProjectMembership>(scope, { ...second, active: false });
  });

  it('asks an MFA-enrolled user for the TOTP code before issuing a code', async () => {
    const enrolled = await memberWithPassword(server, { projectId: member.projectId, admin: false });
    const system = new SystemRepository(server.deps);
    const user = await system.read<User>(systemScope(SYSTEM_PROJECT_ID), 'User', enrolled.userId);
    const secret = newTotpSecret();
    await system.update<User>(systemScope(SYSTEM_PROJECT_ID), { ...(user as User & { id: string }), mfaEnrolled: true, mfaSecret: secret });
    const { verifier, challenge } = pkcePair();
    const browser = new ScriptedBrowser(server);
    const page = await browser.get(authorizeUrl(server, { client_id: client.id, code_challenge: challenge, code_challenge_method: 'S256' }));
    const mfa = await browser.post({ _form: 'sign-in', csrf_token: formToken(page.html), email: enrolled.email, password: PASSWORD });
    assert.equal(mfa.status, 200);
    assert.match(mfa.html, /authenticator app/);
    const wrongCode = totpCode(secret, server.clock.now()) === '000000' ? '111111' : '000000';
    const wrong = await browser.post({ _form: 'mfa', csrf_token: formToken(mfa.html), token: wrongCode });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.location, undefined);
    const landed = await browser.post({ _form: 'mfa', csrf_token: formToken(wrong.html), token: totpCode(secret, server.clock.now()) });
    const tokens = await exchange(redirectParams(landed).get('code') as string, verifier);
    assert.deepEqual(tokens.profile, { reference: enrolled.profile });
  });

  it('leaves the nonce out of the id token when the client sent none', async () => {
    const { verifier, challenge } = pkcePair();
    const landed = await new ScriptedBrowser(server).signIn(authorizeUrl(server, { client_id: client.id, code_challenge: challenge, code_challenge_method: 'S256' }), member.email);
    const tokens = await exchange(redirectParams(landed).get('code') as string, verifier);
    const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.nonce, undefined);
    assert.equal(claims.sub, member.userId);
  });
});

describe('discovery documents', () => {
  it('serves the SMART configuration as JSON to anyone, claiming only what exists', async () => {
    const res = await fetch(`${server.fhirUrl}.well-known/smart-configuration`, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const smart = (await res.json()) as Record<string, any>;
    assert.equal(smart.issuer, server.baseUrl);
    assert.equal(smart.token_endpoint, `${server.baseUrl}oauth2/token`);
    assert.deepEqual(smart.code_challenge_methods_supported, ['S256']);
    for (const capability of ['launch-standalone', 'authorize-post', 'client-public', 'client-confidential-symmetric', 'sso-openid-connect', 'permission-patient', 'permission-v1', 'permission-v2']) {
      assert.ok(smart.capabilities.includes(capability), capability);
    }
    for (const notBuilt of ['launch-ehr', 'client-confidential-asymmetric', 'context-ehr-patient']) {
      assert.ok(!smart.capabilities.includes(notBuilt), notBuilt);
    }
    const oidc = (await (await fetch(`${server.baseUrl}.well-known/openid-configuration`)).json()) as Record<string, any>;
    assert.deepEqual(oidc.subject_types_supported, ['public']);
    assert.deepEqual(oidc.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post']);
    assert.equal(oidc.introspection_endpoint, `${server.baseUrl}oauth2/introspect`);
    assert.equal(oidc.request_uri_parameter_supported, false);
  });
});

describe('userinfo', () => {
  it('answers 401 with a Bearer challenge without a valid token', async () => {
    const none = await fetch(`${server.baseUrl}oauth2/userinfo`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    const bad = await fetch(`${server.baseUrl}oauth2/userinfo`, { headers: { authorization: 'Bearer not.a.token' } });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.equal(((await bad.json()) as { error: string }).error, 'invalid_token');
  });

  it('answers 403 insufficient_scope to a token without openid', async () => {
    const { verifier, challenge } = pkcePair();
    const landed = await new ScriptedBrowser(server).signIn(
      authorizeUrl(server, { client_id: client.id, scope: 'user/Patient.rs', code_challenge: challenge, code_challenge_method: 'S256' }),
      member.email,
    );
    const tokens = await exchange(redirectParams(landed).get('code') as string, verifier);
    const res = await fetch(`${server.baseUrl}oauth2/userinfo`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(res.status, 403);
    assert.match(res.headers.get('www-authenticate') ?? '', /insufficient_scope/);
  });
});
