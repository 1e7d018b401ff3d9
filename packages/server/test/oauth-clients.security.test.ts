/**
 * Security properties of the client-authenticated endpoints: client_credentials answers every
 * bad client the same way; introspection needs a confidential client and stays within its
 * project; revocation is refused to other clients and says nothing about unknown tokens.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestMember } from './factories.js';
import { fhirClient } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import {
  authorizeUrl,
  basic,
  confidentialSecret,
  formPost,
  memberWithPassword,
  pkcePair,
  REDIRECT_URI,
  redirectParams,
  registerClient,
  ScriptedBrowser,
  tokenRequest,
  type RegisteredClient,
} from './oauth-fixtures.js';

let server: TestServer;
let admin: TestMember;

before(async () => {
  server = await startTestServer();
  admin = await memberWithPassword(server);
});
after(() => server.close());

/** Tokens for `admin` through the code flow of `client` (a secret when it is confidential). */
async function signedInTokens(client: RegisteredClient, secret?: string): Promise<{ access_token: string; refresh_token: string }> {
  const { verifier, challenge } = pkcePair();
  const landed = await new ScriptedBrowser(server).signIn(
    authorizeUrl(server, { client_id: client.id, scope: 'openid offline_access', code_challenge: challenge, code_challenge_method: 'S256' }),
    admin.email,
  );
  const code = redirectParams(landed).get('code') as string;
  const params = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI };
  const res = secret ? await tokenRequest(server, params, basic(client.id, secret)) : await tokenRequest(server, { ...params, client_id: client.id });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

const fhirStatus = async (token: string): Promise<number> => (await fhirClient(server, token).get(admin.profile)).status;

describe('client_credentials', () => {
  it('gives every bad client the same 401 invalid_client, with a Basic challenge when Basic was used', async () => {
    const secret = confidentialSecret();
    const good = await registerClient(server, admin, { secret });
    const inactive = await registerClient(server, admin, { secret, status: 'off' });
    const noMembership = await registerClient(server, admin, { secret }, { membership: false });
    const inactiveMembership = await registerClient(server, admin, { secret }, { membershipActive: false });
    const publicClient = await registerClient(server, admin);
    const attempts: Array<[string, string]> = [
      [good.id, 'wrong secret'],
      ['00000000-0000-4000-8000-000000000000', secret],
      [inactive.id, secret],
      [noMembership.id, secret],
      [inactiveMembership.id, secret],
      [publicClient.id, ''],
    ];
    const bodies = new Set<string>();
    for (const [id, presented] of attempts) {
      const viaBasic = await tokenRequest(server, { grant_type: 'client_credentials' }, basic(id, presented));
      assert.equal(viaBasic.status, 401, id);
      assert.match(viaBasic.headers.get('www-authenticate') ?? '', /^Basic /);
      bodies.add(JSON.stringify(viaBasic.body));
      const viaPost = await tokenRequest(server, { grant_type: 'client_credentials', client_id: id, client_secret: presented });
      assert.equal(viaPost.status, 401, id);
      bodies.add(JSON.stringify(viaPost.body));
    }
    assert.deepEqual([...bodies], [JSON.stringify({ error: 'invalid_client', error_description: 'Invalid client credentials' })]);
    const ok = await tokenRequest(server, { grant_type: 'client_credentials', client_id: good.id, client_secret: secret });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.refresh_token, undefined);
  });

  it('refuses a client_id without a secret, and a malformed scope', async () => {
    const secret = confidentialSecret();
    const client = await registerClient(server, admin, { secret });
    const missing = await tokenRequest(server, { grant_type: 'client_credentials', client_id: client.id });
    assert.equal(missing.status, 401);
    const scope = await tokenRequest(server, { grant_type: 'client_credentials', scope: 'system/Patient.xyz' }, basic(client.id, secret));
    assert.equal(scope.body.error, 'invalid_scope');
  });

  it('stops a client token once the client is switched off', async () => {
    const secret = confidentialSecret();
    const client = await registerClient(server, admin, { secret });
    const token = (await tokenRequest(server, { grant_type: 'client_credentials' }, basic(client.id, secret))).body.access_token;
    const fhir = fhirClient(server, token);
    assert.equal((await fhir.get('Patient')).status, 200);
    const adminFhir = fhirClient(server, admin.token);
    assert.equal((await adminFhir.put(`ClientApplication/${client.id}`, { ...client, secret, status: 'off' })).status, 200);
    assert.equal((await fhir.get('Patient')).status, 401);
  });
});

describe('introspection', () => {
  it('requires a confidential client: none, a public client id and a wrong secret get 401', async () => {
    const secret = confidentialSecret();
    const rs = await registerClient(server, admin, { secret });
    const publicClient = await registerClient(server, admin);
    const { access_token } = await signedInTokens(publicClient);
    const none = await formPost(server, 'oauth2/introspect', { token: access_token });
    assert.equal(none.status, 401);
    assert.equal(none.body.error, 'invalid_client');
    assert.equal((await formPost(server, 'oauth2/introspect', { token: access_token, client_id: publicClient.id })).status, 401);
    const wrong = await formPost(server, 'oauth2/introspect', { token: access_token }, basic(rs.id, 'nope'));
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /);
    // A bearer token is not a client credential here.
    const bearer = await formPost(server, 'oauth2/introspect', { token: access_token }, { authorization: `Bearer ${admin.token}` });
    assert.equal(bearer.status, 401);
    assert.equal((await formPost(server, 'oauth2/introspect', { token: access_token }, basic(rs.id, secret))).body.active, true);
  });

  it('answers only {active:false} for tokens of another project, id tokens and garbage', async () => {
    const other = await memberWithPassword(server);
    const secret = confidentialSecret();
    const foreignRs = await registerClient(server, other, { secret });
    const client = await registerClient(server, admin);
    const tokens = await signedInTokens(client);
    for (const token of [tokens.access_token, tokens.refresh_token]) {
      const res = await formPost(server, 'oauth2/introspect', { token }, basic(foreignRs.id, secret));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { active: false });
    }
    const ownSecret = confidentialSecret();
    const ownRs = await registerClient(server, admin, { secret: ownSecret });
    const idToken = (await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.id })).body.id_token;
    for (const token of [idToken, 'garbage', `${tokens.access_token}x`]) {
      assert.deepEqual((await formPost(server, 'oauth2/introspect', { token }, basic(ownRs.id, ownSecret))).body, { active: false });
    }
  });

});

describe('revocation', () => {
  it('refuses another client revoking a token, and the token keeps working', async () => {
    const secret = confidentialSecret();
    const owner = await registerClient(server, admin, { secret });
    const otherSecret = confidentialSecret();
    const other = await registerClient(server, admin, { secret: otherSecret });
    const tokens = await signedInTokens(owner, secret);
    const byOther = await formPost(server, 'oauth2/revoke', { token: tokens.access_token }, basic(other.id, otherSecret));
    assert.equal(byOther.status, 400);
    assert.equal(byOther.body.error, 'unauthorized_client');
    const unauthenticated = await formPost(server, 'oauth2/revoke', { token: tokens.refresh_token, client_id: owner.id });
    assert.equal(unauthenticated.status, 401);
    const wrongSecret = await formPost(server, 'oauth2/revoke', { token: tokens.refresh_token }, basic(owner.id, 'nope'));
    assert.equal(wrongSecret.status, 401);
    assert.equal(await fhirStatus(tokens.access_token), 200);
    const byOwner = await formPost(server, 'oauth2/revoke', { token: tokens.access_token }, basic(owner.id, secret));
    assert.equal(byOwner.status, 200);
    assert.equal(await fhirStatus(tokens.access_token), 401);
    assert.equal((await formPost(server, 'oauth2/revoke', { token: tokens.access_token }, basic(owner.id, secret))).status, 200, 'again');
    const refresh = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, basic(owner.id, secret));
    assert.equal(refresh.body.error, 'invalid_grant');
  });

  it('lets a public client revoke its own token by client_id, and no one else', async () => {
    const client = await registerClient(server, admin);
    const stranger = await registerClient(server, admin);
    const tokens = await signedInTokens(client);
    assert.equal((await formPost(server, 'oauth2/revoke', { token: tokens.refresh_token })).status, 400);
    assert.equal((await formPost(server, 'oauth2/revoke', { token: tokens.refresh_token, client_id: stranger.id })).status, 400);
    assert.equal(await fhirStatus(tokens.access_token), 200);
    assert.equal((await formPost(server, 'oauth2/revoke', { token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: client.id })).status, 200);
    assert.equal(await fhirStatus(tokens.access_token), 401);
  });

  it('answers 200 for unknown and malformed tokens', async () => {
    const client = await registerClient(server, admin);
    // A changed signature character well inside it (the last one may only hold padding bits).
    const forged = `${admin.token.slice(0, -10)}${admin.token.at(-10) === 'A' ? 'B' : 'A'}${admin.token.slice(-9)}`;
    for (const token of ['garbage', 'a.b.c', forged]) {
      const res = await formPost(server, 'oauth2/revoke', { token, client_id: client.id });
      assert.equal(res.status, 200, token);
    }
    const missing = await formPost(server, 'oauth2/revoke', { client_id: client.id });
    assert.equal(missing.body.error, 'invalid_request');
  });
});

// Last: it moves the shared clock past every token issued so far.
describe('introspection over time', () => {
  it('says an expired access token and a rotated-away refresh token are inactive', async () => {
    const secret = confidentialSecret();
    const rs = await registerClient(server, admin, { secret });
    const client = await registerClient(server, admin);
    const first = await signedInTokens(client);
    const second = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: client.id });
    assert.equal(second.status, 200);
    assert.deepEqual((await formPost(server, 'oauth2/introspect', { token: first.refresh_token }, basic(rs.id, secret))).body, { active: false });
    assert.equal((await formPost(server, 'oauth2/introspect', { token: second.body.refresh_token }, basic(rs.id, secret))).body.active, true);
    server.clock.advance(2 * 3600 * 1000);
    assert.deepEqual((await formPost(server, 'oauth2/introspect', { token: second.body.access_token }, basic(rs.id, secret))).body, { active: false });
  });
});
