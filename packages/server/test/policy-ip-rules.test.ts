/**
 * `AccessPolicy.ipAccessRule[]` (issue 6): the first rule matching the client's address decides,
 * no match allows. A blocked address is refused on FHIR, admin and auth requests (403
 * OperationOutcome) and at the token endpoint (400 invalid_grant) for the code exchange, refresh
 * and client_credentials; the same token or code still works from an allowed address. Requests
 * come from chosen loopback addresses (auth-client.ts `call` with `from`), which the server sees
 * as `request.ip` without any proxy header.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { ProjectMembership } from '@medplum/fhirtypes';
import { decodeJwt } from 'jose';
import { decidingRule, ipAllowed, normalizeAddress } from '../src/fhir/access-policy/ip-rules.js';
import type { IpAccessRule } from '../src/fhir/access-policy/member-policy.js';
import { systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { call, createAccount, freshAddress, login, post, type Account, type JsonResponse } from './auth-client.js';
import { startTestServer, type TestServer } from './harness.js';

function assertBlocked(res: JsonResponse, what: string): void {
  assert.equal(res.status, 403, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.resourceType, 'OperationOutcome', what);
  assert.equal(res.body.issue[0].details.text, 'IP address not allowed', what);
}

function assertGrantRefused(res: JsonResponse): void {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.error, 'invalid_grant');
  assert.equal(res.body.error_description, 'IP address not allowed');
}

/** A GET from `from` with extra headers (auth-client.ts `call` sends none). */
function getWithHeaders(server: TestServer, path: string, from: string, headers: Record<string, string>): Promise<number> {
  const url = new URL(path, server.baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'GET', headers, localAddress: from }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('access policies: IP access rules', () => {
  let server: TestServer;
  let account: Account;
  let projectId: string;
  let membershipId: string;
  /** The one address the policy allows before its `*` block. */
  const office = freshAddress();

  before(async () => {
    server = await startTestServer();
    account = await createAccount(server);
    const claims = decodeJwt(account.accessToken) as { project_id: string; membership_id: string };
    projectId = claims.project_id;
    membershipId = claims.membership_id;
    const policy = await post(server, 'fhir/R4/AccessPolicy', {
      resourceType: 'AccessPolicy',
      name: 'Office only',
      resource: [{ resourceType: '*' }],
      ipAccessRule: [
        { name: 'office', value: office, action: 'allow' },
        { name: 'everyone else', value: '*', action: 'block' },
      ],
    }, { token: account.accessToken });
    assert.equal(policy.status, 201, JSON.stringify(policy.body));
    await attachPolicy(membershipId, policy.body.id);
  });
  after(() => server.close());

  async function attachPolicy(id: string, policyId: string): Promise<void> {
    const system = new SystemRepository(server.deps);
    const membership = await system.read<ProjectMembership>(systemScope(projectId), 'ProjectMembership', id);
    assert.ok(membership);
    await system.update<ProjectMembership>(systemScope(projectId), { ...membership, accessPolicy: { reference: `AccessPolicy/${policyId}` } });
  }

  it('an allow rule before a block * rule: FHIR, admin and auth requests from the allowed address only', async () => {
    const token = account.accessToken;
    const elsewhere = freshAddress();
    assert.equal((await call(server, 'GET', 'fhir/R4/Patient', undefined, { token, from: office })).status, 200);
    assert.equal((await call(server, 'GET', `admin/projects/${projectId}`, undefined, { token, from: office })).status, 200);
    assert.equal((await call(server, 'GET', 'auth/me', undefined, { token, from: office })).status, 200);
    assertBlocked(await call(server, 'GET', 'fhir/R4/Patient', undefined, { token, from: elsewhere }), 'FHIR search');
    assertBlocked(await call(server, 'POST', 'fhir/R4/Patient', { resourceType: 'Patient' }, { token, from: elsewhere }), 'FHIR create');
    assertBlocked(await call(server, 'GET', `admin/projects/${projectId}`, undefined, { token, from: elsewhere }), 'admin');
    assertBlocked(await call(server, 'GET', 'auth/me', undefined, { token, from: elsewhere }), 'auth/me');
  });

  it('X-Forwarded-For from a peer that is not a trusted proxy does not change the address checked', async () => {
    const headers = { authorization: `Bearer ${account.accessToken}`, 'x-forwarded-for': office };
    assert.equal(await getWithHeaders(server, 'fhir/R4/Patient', freshAddress(), headers), 403);
    assert.equal(await getWithHeaders(server, 'fhir/R4/Patient', office, headers), 200);
  });

  it('refresh: refused from a blocked address without rotating the token, which still works from the office', async () => {
    assert.ok(account.refreshToken);
    const form = { grant_type: 'refresh_token', refresh_token: account.refreshToken };
    assertGrantRefused(await post(server, 'oauth2/token', form, { form: true, from: freshAddress() }));
    const ok = await post(server, 'oauth2/token', form, { form: true, from: office });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    account.accessToken = ok.body.access_token;
    account.refreshToken = ok.body.refresh_token;
  });

  it('code exchange: refused from a blocked address; the code is not used up', async () => {
    const signIn = await login(server, account.email, account.password, { from: office });
    assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
    const form = { grant_type: 'authorization_code', code: signIn.body.code, code_verifier: signIn.verifier };
    assertGrantRefused(await post(server, 'oauth2/token', form, { form: true, from: freshAddress() }));
    const ok = await post(server, 'oauth2/token', form, { form: true, from: office });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  it('client_credentials: refused from a blocked address, nothing recorded; allowed from the office', async () => {
    const created = await post(server, `admin/projects/${projectId}/client`, { name: 'IP test app' }, { token: account.accessToken, from: office });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const memberships = await call(server, 'GET', `fhir/R4/ProjectMembership?user=ClientApplication/${created.body.id}`, undefined, { token: account.accessToken, from: office });
    assert.equal(memberships.body.entry.length, 1, JSON.stringify(memberships.body));
    const policyId = (await call(server, 'GET', `fhir/R4/ProjectMembership/${membershipId}`, undefined, { token: account.accessToken, from: office })).body.accessPolicy.reference.split('/')[1];
    await attachPolicy(memberships.body.entry[0].resource.id, policyId);
    const form = { grant_type: 'client_credentials', client_id: created.body.id, client_secret: created.body.secret };
    const logins = async (): Promise<number> => (await server.deps.db.query(`SELECT 1 FROM resource WHERE resource_type = 'Login' AND content->'client'->>'reference' = $1`, [`ClientApplication/${created.body.id}`])).rows.length;
    assertGrantRefused(await post(server, 'oauth2/token', form, { form: true, from: freshAddress() }));
    assert.equal(await logins(), 0);
    const ok = await post(server, 'oauth2/token', form, { form: true, from: office });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    // The client's token is under the same rules.
    assertBlocked(await call(server, 'GET', 'fhir/R4/Patient', undefined, { token: ok.body.access_token, from: freshAddress() }), 'client token');
  });

  it('a prefix blocks its network only; no rule matching allows', async () => {
    const policy = await post(server, 'fhir/R4/AccessPolicy', {
      resourceType: 'AccessPolicy',
      resource: [{ resourceType: '*' }],
      ipAccessRule: [{ value: '127.9.', action: 'block' }],
    }, { token: account.accessToken, from: office });
    assert.equal(policy.status, 201, JSON.stringify(policy.body));
    await attachPolicy(membershipId, policy.body.id);
    const token = account.accessToken;
    assertBlocked(await call(server, 'GET', 'fhir/R4/Patient', undefined, { token, from: '127.9.3.4' }), 'in the prefix');
    assert.equal((await call(server, 'GET', 'fhir/R4/Patient', undefined, { token, from: '127.90.3.4' })).status, 200);
    assert.equal((await call(server, 'GET', 'fhir/R4/Patient', undefined, { token, from: freshAddress() })).status, 200);
  });
});

describe('ip-rules.ts', () => {
  const rule = (value: string, action: 'allow' | 'block'): IpAccessRule => ({ policy: { reference: 'AccessPolicy/x' }, value, action });

  it('compares IPv4-mapped IPv6 addresses as the IPv4 address people write', () => {
    assert.equal(normalizeAddress('::ffff:10.0.3.4'), '10.0.3.4');
    assert.equal(normalizeAddress('::FFFF:10.0.'), '10.0.');
    assert.equal(normalizeAddress('2001:DB8::1'), '2001:db8::1');
    assert.equal(ipAllowed([rule('10.0.3.4', 'block')], '::ffff:10.0.3.4'), false);
    assert.equal(ipAllowed([rule('::ffff:10.0.', 'block')], '10.0.3.4'), false);
  });

  it('matches *, the address, or a prefix ending at a separator; the first match decides', () => {
    assert.equal(ipAllowed([rule('10.0.', 'block')], '10.0.3.4'), false);
    assert.equal(ipAllowed([rule('10.0', 'block')], '10.0.3.4'), false);
    assert.equal(ipAllowed([rule('10.1', 'block')], '10.10.0.1'), true);
    assert.equal(ipAllowed([rule('10.0.3.4', 'block')], '10.0.3.45'), true);
    assert.equal(ipAllowed([rule('2001:db8', 'block')], '2001:db8::1'), false);
    assert.equal(ipAllowed([rule('10.0.3.4', 'allow'), rule('*', 'block')], '10.0.3.4'), true);
    assert.equal(ipAllowed([rule('10.0.3.4', 'allow'), rule('*', 'block')], '10.0.3.5'), false);
    assert.equal(ipAllowed([rule('*', 'block'), rule('10.0.3.4', 'allow')], '10.0.3.4'), false);
    assert.equal(decidingRule([rule('192.168.', 'block')], '10.0.3.4'), undefined);
    assert.equal(ipAllowed([], '10.0.3.4'), true);
    assert.equal(ipAllowed([rule('*', 'block')], undefined), false);
  });
});
