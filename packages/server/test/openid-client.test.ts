/**
 * Tessera as an OpenID Provider, driven by `openid-client` (v6), a certified relying-party
 * library: discovery, the authorization code flow with PKCE through the sign-in page, id token
 * verification against our JWKS, refresh, client_credentials, userinfo, introspection and
 * revocation. What the library accepts is what a third-party app will.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProjectMembership } from '@medplum/fhirtypes';
import * as oidc from 'openid-client';
import { systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { fhirClient } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { confidentialSecret, memberWithPassword, REDIRECT_URI, registerClient, ScriptedBrowser, type RegisteredClient } from './oauth-fixtures.js';

async function discover(server: TestServer, client: RegisteredClient, secret?: string): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(server.baseUrl), client.id, secret, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
}

/** The code flow as an app runs it: PKCE, state and nonce, the user signs in, the code is exchanged. */
async function signInThroughBrowser(server: TestServer, config: oidc.Configuration, email: string, scope: string) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const landed = await new ScriptedBrowser(server).signIn(url.toString(), email);
  assert.equal(landed.status, 303, landed.html.slice(0, 300));
  return oidc.authorizationCodeGrant(config, new URL(landed.location as string), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
}

describe('openid-client against Tessera', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('discovers the provider: issuer, endpoints, S256 only, RS256 id tokens', async () => {
    const admin = await memberWithPassword(server);
    const config = await discover(server, await registerClient(server, admin));
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, server.baseUrl);
    assert.equal(meta.authorization_endpoint, `${server.baseUrl}oauth2/authorize`);
    assert.equal(meta.jwks_uri, `${server.baseUrl}.well-known/jwks.json`);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(meta.id_token_signing_alg_values_supported, ['RS256']);
    assert.deepEqual(meta.response_types_supported, ['code']);
    assert.deepEqual([...(meta.grant_types_supported ?? [])].sort(), ['authorization_code', 'client_credentials', 'refresh_token']);
  });

  it('runs the code flow with PKCE for a public client; the id token verifies against our JWKS', async () => {
    const member = await memberWithPassword(server);
    const client = await registerClient(server, member);
    const config = await discover(server, client);
    const tokens = await signInThroughBrowser(server, config, member.email, 'openid profile email fhirUser');
    const claims = tokens.claims();
    assert.ok(claims);
    assert.equal(claims.iss, server.baseUrl);
    assert.equal(claims.aud, client.id);
    assert.equal(claims.sub, member.userId);
    assert.equal(claims.fhirUser, `${server.fhirUrl}${member.profile}`);
    assert.equal(claims.email, member.email);
    assert.equal(tokens.scope, 'openid profile email fhirUser');
    assert.equal(tokens.refresh_token, undefined, 'no offline_access, no refresh token');
    const read = await fhirClient(server, tokens.access_token).get(member.profile);
    assert.equal(read.status, 200);
  });

  it('refreshes with offline_access for a confidential client, rotating the refresh token', async () => {
    const member = await memberWithPassword(server);
    const secret = confidentialSecret();
    const config = await discover(server, await registerClient(server, member, { secret }), secret);
    const first = await signInThroughBrowser(server, config, member.email, 'openid offline_access');
    assert.ok(first.refresh_token);
    const second = await oidc.refreshTokenGrant(config, first.refresh_token);
    assert.ok(second.access_token);
    assert.ok(second.refresh_token && second.refresh_token !== first.refresh_token);
    assert.equal((await fhirClient(server, second.access_token).get(member.profile)).status, 200);
    await assert.rejects(oidc.refreshTokenGrant(config, first.refresh_token), (err: Error & { error?: string }) => err.error === 'invalid_grant');
  });

  it('answers userinfo with the id token subject and the claims of the granted scopes', async () => {
    const member = await memberWithPassword(server);
    const config = await discover(server, await registerClient(server, member));
    const tokens = await signInThroughBrowser(server, config, member.email, 'openid profile email');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()?.sub as string);
    assert.equal(info.sub, member.userId);
    assert.equal(info.email, member.email);
    assert.equal(info.email_verified, false);
    assert.equal(info.given_name, 'Test');
    assert.match(String(info.family_name), /^Member \d+$/);
    assert.match(String(info.name), /^Test Member \d+$/);
    assert.equal(info.fhirUser, `${server.fhirUrl}${member.profile}`);
  });

  it('issues client_credentials tokens that act as the client in its project, without a refresh token', async () => {
    const admin = await memberWithPassword(server);
    const secret = confidentialSecret();
    const client = await registerClient(server, admin, { secret });
    const config = await discover(server, client, secret);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'system/Patient.cruds' });
    assert.equal(tokens.refresh_token, undefined);
    assert.equal(tokens.scope, 'system/Patient.cruds');
    assert.deepEqual(tokens.project, { reference: `Project/${admin.projectId}` });
    assert.deepEqual(tokens.profile, { reference: `ClientApplication/${client.id}` });
    const fhir = fhirClient(server, tokens.access_token);
    const created = await fhir.post('Patient', { resourceType: 'Patient', name: [{ family: 'Backend' }] });
    assert.equal(created.status, 201);
    assert.equal((await fhir.get('Observation')).status, 403, 'a scope for Patient only');
  });

  it('introspects tokens for a confidential client of the same project, and revocation makes them inactive', async () => {
    const member = await memberWithPassword(server);
    const secret = confidentialSecret();
    const resourceServer = await discover(server, await registerClient(server, member, { secret }), secret);
    const app = await discover(server, await registerClient(server, member));
    const tokens = await signInThroughBrowser(server, app, member.email, 'openid offline_access');

    const active = await oidc.tokenIntrospection(resourceServer, tokens.access_token);
    assert.equal(active.active, true);
    assert.equal(active.sub, member.userId);
    assert.equal(active.client_id, app.clientMetadata().client_id);
    assert.equal(active.scope, 'openid offline_access');
    assert.equal(active.iss, server.baseUrl);
    assert.equal(active.token_type, 'Bearer');
    assert.ok(typeof active.exp === 'number' && typeof active.iat === 'number');
    assert.equal((await oidc.tokenIntrospection(resourceServer, tokens.refresh_token as string)).active, true);

    await oidc.tokenRevocation(app, tokens.refresh_token as string);
    assert.deepEqual(await oidc.tokenIntrospection(resourceServer, tokens.access_token), { active: false });
    assert.deepEqual(await oidc.tokenIntrospection(resourceServer, tokens.refresh_token as string), { active: false });
    assert.equal((await fhirClient(server, tokens.access_token).get(member.profile)).status, 401);
    // Revoking an unknown or already revoked token is not an error (RFC 7009 section 2.2).
    await oidc.tokenRevocation(app, tokens.access_token);
    await oidc.tokenRevocation(app, 'not-a-token');
  });

  it('says a token is inactive once its membership is deactivated', async () => {
    const admin = await memberWithPassword(server);
    const secret = confidentialSecret();
    const resourceServer = await discover(server, await registerClient(server, admin, { secret }), secret);
    const staff = await memberWithPassword(server, { projectId: admin.projectId, admin: false });
    const tokens = await signInThroughBrowser(server, await discover(server, await registerClient(server, admin)), staff.email, 'openid');
    assert.equal((await oidc.tokenIntrospection(resourceServer, tokens.access_token)).active, true);
    const membership = (await fhirClient(server, admin.token).get<ProjectMembership & { id: string }>(`ProjectMembership/${staff.membershipId}`)).body;
    await new SystemRepository(server.deps).update(systemScope(admin.projectId), { ...membership, active: false });
    assert.deepEqual(await oidc.tokenIntrospection(resourceServer, tokens.access_token), { active: false });
  });
});
