/**
 * Authentication of the FHIR API: every route but `/metadata` wants a bearer access token
 * that this server signed (RS256, `typ: at+jwt`, our issuer, not expired), whose Login is
 * not revoked and whose membership is still active. Everything else is a 401
 * OperationOutcome with `WWW-Authenticate: Bearer` (RFC 6750 section 3), and writes nothing.
 * Forged tokens re-sign a real token's claims, changing one thing, so each 401 is for that one.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Login, ProjectMembership } from '@medplum/fhirtypes';
import { SignJWT, base64url, createLocalJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import { SYSTEM_PROJECT_ID, systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

interface Route {
  method: string;
  path: string;
  body?: unknown;
  /** Content-Type of the body; FHIR JSON unless said. */
  type?: string;
}

function contentType(route: Route): string {
  return route.type ?? (route.method === 'PATCH' ? 'application/json-patch+json' : 'application/fhir+json');
}

describe('authentication of /fhir/R4', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  /** A member with a Patient, and every FHIR route (but metadata) aimed at it. */
  async function memberWithRoutes(): Promise<{ member: TestMember; routes: Route[] }> {
    const member = await createMember(server);
    const patient = (await fhirClient(server, member.token).post('Patient', { resourceType: 'Patient', active: true })).body;
    const at = `Patient/${patient.id}`;
    const routes: Route[] = [
      { method: 'GET', path: '_history' },
      { method: 'GET', path: 'Patient/_history' },
      { method: 'GET', path: 'Patient?active=true' },
      { method: 'POST', path: 'Patient/_search', body: 'active=true', type: 'application/x-www-form-urlencoded' },
      { method: 'GET', path: at },
      { method: 'GET', path: `${at}/_history` },
      { method: 'GET', path: `${at}/_history/${patient.meta.versionId}` },
      { method: 'POST', path: 'Patient', body: { resourceType: 'Patient' } },
      { method: 'PUT', path: at, body: { ...patient, active: false } },
      { method: 'PATCH', path: at, body: [{ op: 'replace', path: '/active', value: false }] },
      { method: 'DELETE', path: at },
    ];
    return { member, routes };
  }

  /** Calls every route with this Authorization header (or none) and expects 401 from each, and no write. */
  async function expectRefused(member: TestMember, routes: Route[], authorization: string | undefined): Promise<void> {
    const rows = await countRows(server, member.projectId);
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    for (const route of routes) {
      const { method, path, body } = route;
      const res = await fhirClient(server).request(method, path, body, body === undefined ? headers : { ...headers, 'content-type': contentType(route) });
      assert.equal(expectOutcome(res, 401), 'login', `${method} ${path} with ${authorization?.slice(0, 60)}`);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/, `${method} ${path}`);
    }
    const read = routes.find((r) => r.method === 'GET' && /^Patient\/[^/]+$/.test(r.path)) as Route;
    const head = await fetch(new URL(read.path, server.fhirUrl), { method: 'HEAD', headers });
    assert.equal(head.status, 401);
    assert.deepEqual(await countRows(server, member.projectId), rows);
  }

  /** Re-signs a real token's claims with the given changes: another key, header or claims. */
  async function forge(
    token: string,
    changes: { key?: CryptoKey | Uint8Array; header?: Record<string, unknown>; claims?: JWTPayload } = {},
  ): Promise<string> {
    const own = server.deps.keys.signingKey();
    const header = { ...decodeProtectedHeader(token), ...changes.header };
    const payload = { ...decodeJwt(token), ...changes.claims };
    return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(changes.key ?? own.key);
  }

  it('lets a valid token through on every route, and serves /metadata to anyone', async () => {
    const { member, routes } = await memberWithRoutes();
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const res = await fhirClient(server).request('GET', '_history', undefined, { authorization: `${scheme} ${member.token}` });
      assert.equal(res.status, 200, scheme);
    }
    const fhir = fhirClient(server, member.token);
    for (const route of routes) {
      const { method, path, body } = route;
      const res = await fhir.request(method, path, body, body === undefined ? {} : { 'content-type': contentType(route) });
      assert.ok(res.status === 200 || res.status === 201, `${method} ${path}: ${res.status}`);
    }
    // The forging helper alone does not break a token: re-signed unchanged, it still works.
    assert.equal((await fhirClient(server, await forge(member.token)).get('_history')).status, 200);
    for (const authorization of [undefined, 'Bearer garbage']) {
      const metadata = await fhirClient(server).get('metadata', authorization ? { authorization } : {});
      assert.equal(metadata.status, 200);
      assert.equal(metadata.body.resourceType, 'CapabilityStatement');
    }
  });

  it('answers 401 to a missing or malformed Authorization header', async () => {
    const { member, routes } = await memberWithRoutes();
    await expectRefused(member, routes, undefined);
    const noScheme = await fhirClient(server).get('_history');
    assert.equal(noScheme.headers.get('www-authenticate'), 'Bearer');
    for (const authorization of ['', 'Bearer', 'Bearer ', `Basic ${Buffer.from('user:pass').toString('base64')}`, `Token ${member.token}`, member.token, `Bearer ${member.token} extra`, `Bearer "${member.token}"`, `Bearer ${member.token},x`]) {
      await expectRefused(member, routes, authorization);
    }
  });

  it('answers 401 to a token that is not a JWT of this server', async () => {
    const { member, routes } = await memberWithRoutes();
    const [header, payload] = member.token.split('.') as [string, string, string];
    const badKids = [{ kid: '\u0000' }, { kid: 42 }, { kid: { $ne: null } }, { kid: 'x'.repeat(5000) }, { kid: "' OR 1=1 --" }, { kid: randomUUID() }, { kid: undefined }];
    const tokens = [
      'garbage',
      'a.b.c',
      `${header}.${payload}`,
      `${header}.${payload}.`,
      `${header}.${payload}.${'A'.repeat(342)}`,
      ...badKids.map((h) => `${base64url.encode(JSON.stringify({ ...decodeProtectedHeader(member.token), ...h }))}.${payload}.AAAA`),
    ];
    for (const token of tokens) {
      await expectRefused(member, routes, `Bearer ${token}`);
    }
  });

  it('answers 401 to a token signed by another key, with alg none, or with the public key as an HMAC secret', async () => {
    const { member, routes } = await memberWithRoutes();
    const { privateKey } = await generateKeyPair('RS256');
    const { kid } = server.deps.keys.signingKey();
    // Another key, under our kid and under its own.
    await expectRefused(member, routes, `Bearer ${await forge(member.token, { key: privateKey })}`);
    await expectRefused(member, routes, `Bearer ${await forge(member.token, { key: privateKey, header: { kid: randomUUID() } })}`);
    // alg "none": no signature at all, with our kid.
    const [, payload] = member.token.split('.');
    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid }))}.${payload}.`;
    await expectRefused(member, routes, `Bearer ${unsigned}`);
    // Algorithm confusion: HS256 keyed with our published public key.
    const jwk = server.deps.keys.jwks().keys.find((k) => k.kid === kid);
    for (const secret of [JSON.stringify(jwk), String(jwk?.n)]) {
      const hmac = await forge(member.token, { key: new TextEncoder().encode(secret), header: { alg: 'HS256' } });
      await expectRefused(member, routes, `Bearer ${hmac}`);
    }
  });

  it('answers 401 to a token of ours with the wrong typ, issuer or validity times, or a claim missing', async () => {
    const { member, routes } = await memberWithRoutes();
    const now = Math.floor(server.clock.now().getTime() / 1000);
    const changes: Array<Parameters<typeof forge>[1]> = [
      // An id token (or any other JWT) signed with our own key is not an access token.
      { header: { typ: 'JWT' } },
      { header: { typ: 'id_token+jwt' } },
      { header: { typ: undefined } },
      { claims: { iss: 'https://evil.example.com/' } },
      { claims: { iss: server.baseUrl.replace(/\/$/, '') } },
      { claims: { iss: undefined } },
      { claims: { exp: now - 60 } },
      { claims: { exp: undefined } },
      { claims: { nbf: now + 3600, iat: now + 3600 } },
      { claims: { login_id: undefined } },
      { claims: { project_id: 'not-a-uuid' } },
    ];
    for (const change of changes) {
      await expectRefused(member, routes, `Bearer ${await forge(member.token, change)}`);
    }
  });

  it('answers 401 once the token has expired on the clock', async () => {
    const { member, routes } = await memberWithRoutes();
    const fhir = fhirClient(server, member.token);
    server.clock.advance(3500 * 1000);
    assert.equal((await fhir.get('_history')).status, 200);
    server.clock.advance(2 * 3600 * 1000);
    await expectRefused(member, routes, `Bearer ${member.token}`);
    // A token issued now works: the server is fine, the old token is not.
    assert.equal((await fhirClient(server, (await createMember(server)).token).get('_history')).status, 200);
  });

  it('answers 401 to a token whose claims name another membership than its Login', async () => {
    const { member, routes } = await memberWithRoutes();
    const other = await createMember(server);
    const swaps: JWTPayload[] = [
      { project_id: other.projectId, membership_id: other.membershipId },
      { membership_id: other.membershipId },
      { project_id: other.projectId },
      { login_id: other.loginId },
      { login_id: randomUUID() },
    ];
    for (const claims of swaps) {
      await expectRefused(member, routes, `Bearer ${await forge(member.token, { claims })}`);
    }
  });

  it('answers 401 as soon as the Login is revoked', async () => {
    const { member, routes } = await memberWithRoutes();
    assert.equal((await fhirClient(server, member.token).get('_history')).status, 200);
    const system = new SystemRepository(server.deps);
    const scope = systemScope(SYSTEM_PROJECT_ID);
    const login = await system.read<Login>(scope, 'Login', member.loginId);
    assert.ok(login);
    await system.update<Login>(scope, { ...login, revoked: true });
    await expectRefused(member, routes, `Bearer ${member.token}`);
  });

  it('answers 401 as soon as the membership is deactivated or deleted', async () => {
    const system = new SystemRepository(server.deps);
    const deactivated = await memberWithRoutes();
    const scope = systemScope(deactivated.member.projectId);
    const membership = await system.read<ProjectMembership>(scope, 'ProjectMembership', deactivated.member.membershipId);
    assert.ok(membership);
    await system.update<ProjectMembership>(scope, { ...membership, active: false });
    await expectRefused(deactivated.member, deactivated.routes, `Bearer ${deactivated.member.token}`);
    // Active again: the same token works again.
    await system.update<ProjectMembership>(scope, { ...membership, active: true });
    assert.equal((await fhirClient(server, deactivated.member.token).get('_history')).status, 200);

    const deleted = await memberWithRoutes();
    const deletedScope = systemScope(deleted.member.projectId);
    const toDelete = await system.read<ProjectMembership>(deletedScope, 'ProjectMembership', deleted.member.membershipId);
    assert.ok(toDelete);
    await server.deps.db.transaction((tx) =>
      server.deps.store.writeVersion(deletedScope, tx, {
        resourceType: 'ProjectMembership',
        id: toDelete.id,
        versionId: randomUUID(),
        lastUpdated: server.clock.now(),
        resource: toDelete,
        deleted: true,
        method: 'DELETE',
      }),
    );
    await expectRefused(deleted.member, deleted.routes, `Bearer ${deleted.member.token}`);
  });

  it('answers 401 as soon as the User behind the token is deleted', async () => {
    const { member, routes } = await memberWithRoutes();
    assert.equal((await fhirClient(server, member.token).get('_history')).status, 200);
    const scope = systemScope(SYSTEM_PROJECT_ID);
    const user = await new SystemRepository(server.deps).read(scope, 'User', member.userId);
    assert.ok(user);
    await server.deps.db.transaction((tx) =>
      server.deps.store.writeVersion(scope, tx, {
        resourceType: 'User',
        id: member.userId,
        versionId: randomUUID(),
        lastUpdated: server.clock.now(),
        resource: user,
        deleted: true,
        method: 'DELETE',
      }),
    );
    await expectRefused(member, routes, `Bearer ${member.token}`);
  });
});

describe('/.well-known/jwks.json', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('publishes the public signing key only, and it verifies the tokens the server issues', async () => {
    const res = await fetch(new URL('.well-known/jwks.json', server.baseUrl));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const jwks = (await res.json()) as { keys: Array<Record<string, unknown>> };
    assert.ok(jwks.keys.length >= 1);
    for (const key of jwks.keys) {
      assert.equal(key.kty, 'RSA');
      assert.equal(key.alg, 'RS256');
      assert.equal(key.use, 'sig');
      assert.equal(typeof key.kid, 'string');
      assert.ok(key.n && key.e);
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) {
        assert.equal(key[secret], undefined, `the JWKS exposes "${secret}"`);
      }
    }
    assert.ok(jwks.keys.some((k) => k.kid === server.deps.keys.signingKey().kid));
    const member = await createMember(server);
    const { payload, protectedHeader } = await jwtVerify(member.token, createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]), {
      issuer: server.baseUrl,
      typ: 'at+jwt',
      currentDate: server.clock.now(),
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.project_id, member.projectId);
    assert.equal(payload.membership_id, member.membershipId);
  });
});
