/**
 * `ClientApplication.accessTokenLifetime` and `refreshTokenLifetime` at the token endpoint:
 * tokens issued to the client (client_credentials, authorization_code, refresh_token) say and
 * keep that lifetime; a refresh token past its client's lifetime is refused, while one of a
 * client without a lifetime (the 14-day default) still works at that time. Time moves with
 * the harness's FakeClock.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ClientApplication } from '@medplum/fhirtypes';
import { decodeJwt } from 'jose';
import { fhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { basic, memberWithPassword, signInThroughClient, tokenRequest, type ClientTokens } from './oauth-fixtures.js';

type Created = ClientApplication & { id: string; secret: string };
const MINUTE = 60_000;

describe('client token lifetimes', () => {
  let server: TestServer;
  let admin: TestMember;

  before(async () => {
    server = await startTestServer();
  });
  // Each test moves the clock by hours: it gets a fresh admin whose token is valid now.
  beforeEach(async () => {
    admin = await memberWithPassword(server);
  });
  after(() => server.close());

  async function createClient(body: Record<string, unknown>): Promise<Created> {
    const res = await fhirClient(server, admin.token).post<Created>(`/admin/projects/${admin.projectId}/client`, { name: 'Timed', ...body }, { 'content-type': 'application/json' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  /** Signs the admin in through `client` with offline access and exchanges the code (with the secret). */
  const signInThrough = (client: Created): Promise<ClientTokens> => signInThroughClient(server, admin.email, client);

  const refresh = (client: Created, refreshToken: string) => tokenRequest(server, { grant_type: 'refresh_token', refresh_token: refreshToken }, basic(client.id, client.secret));
  const meStatus = async (token: string) => (await fetch(new URL('auth/me', server.baseUrl), { headers: { authorization: `Bearer ${token}` } })).status;

  it('gives client_credentials tokens the client access token lifetime', async () => {
    const timed = await createClient({ accessTokenLifetime: '10m' });
    const plain = await createClient({});
    const issued = await tokenRequest(server, { grant_type: 'client_credentials' }, basic(timed.id, timed.secret));
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal(issued.body.expires_in, 600);
    const claims = decodeJwt(issued.body.access_token);
    assert.equal((claims.exp as number) - (claims.iat as number), 600);
    const defaults = await tokenRequest(server, { grant_type: 'client_credentials' }, basic(plain.id, plain.secret));
    assert.equal(defaults.body.expires_in, server.deps.config.accessTokenLifetimeSeconds);

    server.clock.advance(5 * MINUTE);
    assert.equal(await meStatus(issued.body.access_token), 200);
    server.clock.advance(6 * MINUTE);
    assert.equal(await meStatus(issued.body.access_token), 401);
    assert.equal(await meStatus(defaults.body.access_token), 200);
  });

  it('applies both lifetimes to the code exchange and to every refresh, and refuses a refresh token past its lifetime', async () => {
    const client = await createClient({ accessTokenLifetime: '5m', refreshTokenLifetime: '1h' });
    const first = await signInThrough(client);
    assert.equal(first.expires_in, 300);
    const refreshClaims = decodeJwt(first.refresh_token);
    assert.equal((refreshClaims.exp as number) - (refreshClaims.iat as number), 3600);

    server.clock.advance(50 * MINUTE);
    const second = await refresh(client, first.refresh_token);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.expires_in, 300);
    const rotatedClaims = decodeJwt(second.body.refresh_token);
    assert.equal((rotatedClaims.exp as number) - (rotatedClaims.iat as number), 3600);

    server.clock.advance(61 * MINUTE);
    const late = await refresh(client, second.body.refresh_token);
    assert.equal(late.status, 400, JSON.stringify(late.body));
    assert.equal(late.body.error, 'invalid_grant');
  });

  it('keeps the default refresh lifetime for a client without one', async () => {
    const client = await createClient({});
    const first = await signInThrough(client);
    assert.equal(first.expires_in, server.deps.config.accessTokenLifetimeSeconds);
    server.clock.advance(2 * 60 * MINUTE);
    const later = await refresh(client, first.refresh_token);
    assert.equal(later.status, 200, JSON.stringify(later.body));
  });
});
