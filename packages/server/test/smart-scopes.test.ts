/**
 * SMART scopes: the v1 and v2 grammar, and the narrowing of a token's FHIR access by its
 * resource scopes (a token with none keeps the membership's access, as Medplum's do).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { narrowsAccess, parseScopes, scopesAllow, type FhirInteraction } from '../src/auth/smart-scopes.js';
import { fhirClient, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';
import { authorizeUrl, memberWithPassword, PASSWORD, pkcePair, REDIRECT_URI, redirectParams, registerClient, ScriptedBrowser, tokenRequest, type RegisteredClient } from './oauth-fixtures.js';

const allowed = (scope: string, type: string): string =>
  (['create', 'read', 'update', 'delete', 'search'] as FhirInteraction[])
    .filter((i) => scopesAllow(parseScopes(scope), type, i))
    .map((i) => i[0])
    .join('');

describe('SMART scope grammar', () => {
  it('reads v2 letters and v1 words as the same permissions', () => {
    assert.equal(allowed('patient/Observation.rs', 'Observation'), 'rs');
    assert.equal(allowed('user/*.cruds', 'Patient'), 'cruds');
    assert.equal(allowed('patient/*.read', 'Condition'), 'rs');
    assert.equal(allowed('system/*.read', 'Condition'), 'rs');
    assert.equal(allowed('user/Patient.write', 'Patient'), 'cud');
    assert.equal(allowed('user/*.*', 'Encounter'), 'cruds');
    assert.equal(allowed('system/Encounter.cud', 'Encounter'), 'cud');
    assert.equal(allowed('user/Observation.c user/Observation.s', 'Observation'), 'cs');
  });

  it('keeps identity and context scopes apart, and narrows nothing without a resource scope', () => {
    const scopes = parseScopes('openid fhirUser offline_access launch/patient');
    assert.deepEqual(scopes.other, ['openid', 'fhirUser', 'offline_access', 'launch/patient']);
    assert.equal(scopes.resource.length, 0);
    assert.equal(narrowsAccess(scopes), false);
    assert.equal(allowed('openid profile offline_access', 'Patient'), 'cruds');
  });

  it('grants nothing for malformed or filtered scopes, which still narrow', () => {
    for (const bad of ['user/Observation.dus', 'user/Observation.rsx', 'user/Observation.', 'user/observation.rs', 'user/*.readwrite']) {
      assert.equal(allowed(`openid ${bad}`, 'Observation'), '', bad);
    }
    assert.equal(allowed('openid practitioner/*.rs', 'Observation'), 'cruds', 'not a SMART context, so not a resource scope');
    assert.equal(allowed('patient/Observation.rs?category=vital-signs', 'Observation'), '');
    assert.equal(allowed('user/Patient.rs', 'Observation'), '');
  });

  it('grants every type at once (system history) only through a wildcard', () => {
    assert.equal(scopesAllow(parseScopes('user/*.s'), '*', 'search'), true);
    assert.equal(scopesAllow(parseScopes('user/Patient.s user/Observation.s'), '*', 'search'), false);
  });
});

describe('SMART scopes narrow FHIR access', () => {
  let server: TestServer;
  let member: TestMember;
  let client: RegisteredClient;

  before(async () => {
    server = await startTestServer();
    member = await memberWithPassword(server);
    client = await registerClient(server, member);
  });
  after(() => server.close());

  async function tokenWithScope(scope: string): Promise<string> {
    const { verifier, challenge } = pkcePair();
    const landed = await new ScriptedBrowser(server).signIn(authorizeUrl(server, { client_id: client.id, scope, code_challenge: challenge, code_challenge_method: 'S256' }), member.email);
    const code = redirectParams(landed).get('code') as string;
    const res = await tokenRequest(server, { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: client.id, redirect_uri: REDIRECT_URI });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.scope, scope);
    return res.body.access_token;
  }

  it('lets user/Patient.rs read and search Patients, and nothing else', async () => {
    const patient = (await fhirClient(server, member.token).post('Patient', { resourceType: 'Patient', name: [{ family: 'Scoped' }] })).body;
    const fhir = fhirClient(server, await tokenWithScope('openid user/Patient.rs'));
    assert.equal((await fhir.get(`Patient/${patient.id}`)).status, 200);
    assert.equal((await fhir.get(`Patient/${patient.id}/_history`)).status, 200);
    assert.equal((await fhir.get('Patient?name=Scoped')).status, 200);
    assert.equal((await fhir.get('Patient/_history')).status, 200);
    assert.equal((await fhir.post('Patient', { resourceType: 'Patient' })).status, 403);
    assert.equal((await fhir.put(`Patient/${patient.id}`, { ...patient, active: true })).status, 403);
    assert.equal((await fhir.delete(`Patient/${patient.id}`)).status, 403);
    assert.equal((await fhir.get('Observation')).status, 403);
    assert.equal((await fhir.get('_history')).status, 403, 'system history needs a wildcard scope');
    const denied = await fhir.post('Patient', { resourceType: 'Patient' });
    assert.equal(denied.body.resourceType, 'OperationOutcome');
  });

  it('tells letters apart: create only, read without search, v1 write', async () => {
    const createOnly = fhirClient(server, await tokenWithScope('openid user/Observation.c'));
    const obs = await createOnly.post('Observation', { resourceType: 'Observation', status: 'final', code: { text: 'x' } });
    assert.equal(obs.status, 201);
    assert.equal((await createOnly.get(`Observation/${obs.body.id}`)).status, 403);

    const readOnly = fhirClient(server, await tokenWithScope('openid user/*.r'));
    assert.equal((await readOnly.get(`Observation/${obs.body.id}`)).status, 200);
    assert.equal((await readOnly.get('Observation')).status, 403, 'search is s, not r');

    const write = fhirClient(server, await tokenWithScope('openid user/Observation.write'));
    assert.equal((await write.patch(`Observation/${obs.body.id}`, [{ op: 'replace', path: '/status', value: 'amended' }])).status, 200);
    assert.equal((await write.get(`Observation/${obs.body.id}`)).status, 403);
    assert.equal((await write.delete(`Observation/${obs.body.id}`)).status, 200);
  });

  it('keeps the membership\'s full access for tokens without resource scopes', async () => {
    const fhir = fhirClient(server, await tokenWithScope('openid profile offline_access'));
    assert.equal((await fhir.post('Observation', { resourceType: 'Observation', status: 'final', code: { text: 'y' } })).status, 201);
    assert.equal((await fhir.get('_history')).status, 200);
  });

  it('never widens access: user/*.cruds does not open admin-only types to a non-admin', async () => {
    const staff = await memberWithPassword(server, { projectId: member.projectId, admin: false });
    const { verifier, challenge } = pkcePair();
    const landed = await new ScriptedBrowser(server).signIn(
      authorizeUrl(server, { client_id: client.id, scope: 'openid user/*.cruds', code_challenge: challenge, code_challenge_method: 'S256' }),
      staff.email,
      PASSWORD,
    );
    const code = redirectParams(landed).get('code') as string;
    const token = (await tokenRequest(server, { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: client.id, redirect_uri: REDIRECT_URI })).body.access_token;
    const fhir = fhirClient(server, token);
    assert.equal((await fhir.get('ClientApplication')).status, 403);
    assert.equal((await fhir.get('Patient')).status, 200);
  });
});
