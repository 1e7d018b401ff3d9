/**
 * Refusals of the client and bot admin routes: every bad body is a 400 naming the field, a
 * non-admin or an admin of another project gets 403, a missing token 401; and none of them
 * writes a row (countRows before and after).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccessPolicy } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { countRows, createMember, fhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

const JSON_TYPE = { 'content-type': 'application/json' };

describe('admin API: client and bot refusals', () => {
  let server: TestServer;
  let admin: TestMember;
  let foreignPolicy: string;

  before(async () => {
    server = await startTestServer();
    admin = await createMember(server);
    const other = await createMember(server);
    const policy = await fhirClient(server, other.token).post<AccessPolicy & { id: string }>('AccessPolicy', { resourceType: 'AccessPolicy', name: 'Other project', resource: [{ resourceType: 'Patient' }] });
    assert.equal(policy.status, 201);
    foreignPolicy = `AccessPolicy/${policy.body.id}`;
  });
  after(() => server.close());

  async function expectNothingWritten(run: () => Promise<void>): Promise<void> {
    const before = await countRows(server, admin.projectId);
    await run();
    assert.deepEqual(await countRows(server, admin.projectId), before);
  }

  const badClientBodies: Array<[string, unknown, string]> = [
    ['missing name', { description: 'x' }, 'name'],
    ['blank name', { name: '   ' }, 'name'],
    ['name of the wrong type', { name: 42 }, 'name'],
    ['description of the wrong type', { name: 'A', description: ['x'] }, 'description'],
    ['relative redirectUri', { name: 'A', redirectUri: '/callback' }, 'redirectUri'],
    ['javascript: redirect URI', { name: 'A', redirectUris: ['javascript:alert(1)'] }, 'redirectUris.0'],
    ['redirect URI with a fragment', { name: 'A', redirectUris: ['https://a.example/cb#x'] }, 'redirectUris.0'],
    ['redirectUris not an array', { name: 'A', redirectUris: 'https://a.example/cb' }, 'redirectUris'],
    ['pkceOptional as a string', { name: 'A', pkceOptional: 'yes' }, 'pkceOptional'],
    ['unreadable accessTokenLifetime', { name: 'A', accessTokenLifetime: '1 hour' }, 'accessTokenLifetime'],
    ['accessTokenLifetime too long', { name: 'A', accessTokenLifetime: '2d' }, 'accessTokenLifetime'],
    ['accessTokenLifetime too short', { name: 'A', accessTokenLifetime: 5 }, 'accessTokenLifetime'],
    ['fractional seconds', { name: 'A', refreshTokenLifetime: 90.5 }, 'refreshTokenLifetime'],
    ['refreshTokenLifetime too long', { name: 'A', refreshTokenLifetime: '2y' }, 'refreshTokenLifetime'],
    ['accessPolicy not a reference', { name: 'A', accessPolicy: 'AccessPolicy/x' }, 'accessPolicy'],
    ['accessPolicy of another type', { name: 'A', accessPolicy: { reference: 'Patient/123' } }, 'accessPolicy.reference'],
    ['unknown accessPolicy', { name: 'A', accessPolicy: { reference: 'AccessPolicy/00000000-0000-4000-8000-000000000000' } }, 'accessPolicy'],
  ];

  for (const [label, body, field] of badClientBodies) {
    it(`refuses a client with ${label}: 400 on ${field}, nothing written`, async () => {
      await expectNothingWritten(async () => {
        expectOutcome(await fhirClient(server, admin.token).post(`/admin/projects/${admin.projectId}/client`, body, JSON_TYPE), 400, field);
      });
    });
  }

  it("refuses another project's access policy for a client and a bot, writing nothing", async () => {
    await expectNothingWritten(async () => {
      const api = fhirClient(server, admin.token);
      expectOutcome(await api.post(`/admin/projects/${admin.projectId}/client`, { name: 'A', accessPolicy: { reference: foreignPolicy } }, JSON_TYPE), 400, 'accessPolicy');
      expectOutcome(await api.post(`/admin/projects/${admin.projectId}/bot`, { name: 'B', accessPolicy: { reference: foreignPolicy } }, JSON_TYPE), 400, 'accessPolicy');
    });
  });

  for (const [label, body, field] of [
    ['missing name', {}, 'name'],
    ['name of the wrong type', { name: { text: 'x' } }, 'name'],
    ['accessPolicy of another type', { name: 'B', accessPolicy: { reference: 'Practitioner/1' } }, 'accessPolicy.reference'],
  ] as const) {
    it(`refuses a bot with ${label}: 400 on ${field}, nothing written`, async () => {
      await expectNothingWritten(async () => {
        expectOutcome(await fhirClient(server, admin.token).post(`/admin/projects/${admin.projectId}/bot`, body, JSON_TYPE), 400, field);
      });
    });
  }

  it('refuses a non-admin member with 403 on every route, writing nothing', async () => {
    const member = await createMember(server, { projectId: admin.projectId, admin: false });
    const created = await fhirClient(server, admin.token).post<{ id: string }>(`/admin/projects/${admin.projectId}/client`, { name: 'Target' }, JSON_TYPE);
    assert.equal(created.status, 201);
    await expectNothingWritten(async () => {
      const api = fhirClient(server, member.token);
      for (const path of ['client', 'bot', `client/${created.body.id}/rotate-secret`, `client/${created.body.id}/disable`, `client/${created.body.id}/enable`]) {
        expectOutcome(await api.post(`/admin/projects/${admin.projectId}/${path}`, { name: 'Sneaky' }, JSON_TYPE), 403);
      }
    });
  });

  it("refuses an admin of another project with 403, and writes nothing in either project", async () => {
    const outsider = await createMember(server);
    const before = await countRows(server, outsider.projectId);
    await expectNothingWritten(async () => {
      const api = fhirClient(server, outsider.token);
      expectOutcome(await api.post(`/admin/projects/${admin.projectId}/client`, { name: 'Sneaky' }, JSON_TYPE), 403);
      expectOutcome(await api.post(`/admin/projects/${admin.projectId}/bot`, { name: 'Sneaky' }, JSON_TYPE), 403);
    });
    assert.deepEqual(await countRows(server, outsider.projectId), before);
  });

  it('refuses a request without a token with 401', async () => {
    await expectNothingWritten(async () => {
      expectOutcome(await fhirClient(server).post(`/admin/projects/${admin.projectId}/client`, { name: 'Anonymous' }, JSON_TYPE), 401);
    });
  });
});
