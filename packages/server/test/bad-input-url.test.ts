/**
 * Bad input in the URL: ids that are not FHIR ids, malformed paths, history parameters and
 * version ids. Each gets a 4xx OperationOutcome (never a 500) and changes nothing.
 * Bodies are in bad-input.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectOutcome, watchProject } from './expect-outcome.js';
import { startTestServer, type TestServer } from './harness.js';

/** Not FHIR ids (https://hl7.org/fhir/R4/datatypes.html#id: 1 to 64 of A-Z a-z 0-9 - .), as URL path segments. */
const INVALID_IDS = ['a'.repeat(65), 'a$b', '$everything', 'a%20b', '%20', 'a_b', 'a%2Fb', 'caf%C3%A9', 'a%00b', 'a*b', "a'b", 'a%22b'];

describe('bad input in the URL: a 4xx OperationOutcome, and nothing written', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('refuses an id that is not a FHIR id on read, vread, update, patch, delete and history', async () => {
    const project = await watchProject(server);
    const { fhir, patient } = project;
    const version = patient.meta?.versionId as string;
    for (const id of INVALID_IDS) {
      const decoded = decodeURIComponent(id);
      expectOutcome(await fhir.get(`Patient/${id}`), 400, 'id');
      expectOutcome(await fhir.get(`Patient/${id}/_history/${version}`), 400, 'id');
      expectOutcome(await fhir.get(`Patient/${id}/_history`), 400, 'id');
      expectOutcome(await fhir.put(`Patient/${id}`, { resourceType: 'Patient', id: decoded }), 400, 'id');
      expectOutcome(await fhir.patch(`Patient/${id}`, [{ op: 'add', path: '/active', value: true }]), 400, 'id');
      expectOutcome(await fhir.delete(`Patient/${id}`), 400, 'id');
    }
    await project.assertUnchanged();
  });

  it('refuses an id far longer than any route allows, and a malformed URL, with an OperationOutcome', async () => {
    const project = await watchProject(server);
    const { fhir } = project;
    const long = 'a'.repeat(300);
    expectOutcome(await fhir.get(`Patient/${long}`), 400);
    expectOutcome(await fhir.put(`Patient/${long}`, { resourceType: 'Patient', id: long }), 400);
    expectOutcome(await fhir.delete(`Patient/${long}`), 400);
    expectOutcome(await fhir.get(`Patient/${long}/_history`), 400);
    expectOutcome(await fhir.get(`${long}/x`), 400);
    // Percent signs that do not encode a byte: no route can even be chosen.
    expectOutcome(await fhir.get('Patient/%zz'), 400);
    expectOutcome(await fhir.put('Patient/%E0%A4%A', { resourceType: 'Patient' }), 400);
    expectOutcome(await fhir.delete('Patient/a%'), 400);
    expectOutcome(await fhir.get('Patient/x/y/z'), 404);
    await project.assertUnchanged();
  });

  it('refuses bad history parameters at every level, unless the client asks for lenient handling', async () => {
    const project = await watchProject(server);
    const { fhir, patient } = project;
    const levels = ['_history', 'Patient/_history', `Patient/${patient.id}/_history`];
    const bad: Array<[string, string]> = [
      ['_count=0', '_count'],
      ['_count=-1', '_count'],
      ['_count=abc', '_count'],
      ['_count=1.5', '_count'],
      ['_count=1e3', '_count'],
      ['_count=0x10', '_count'],
      ['_count=', '_count'],
      ['_count=1&_count=2', '_count'],
      ['_since=notadate', '_since'],
      ['_since=2026-13-01', '_since'],
      ['_since=2026-02-30', '_since'],
      ['_since=2026-01-01T10:00', '_since'],
      ['_since=', '_since'],
      ['_since=2026-01-01&_since=2026-01-02', '_since'],
      ['_cursor=abc', '_cursor'],
      ['_cursor=-5', '_cursor'],
      ['_cursor=99999999999999999999999', '_cursor'],
      ['foo=1', 'foo'],
      ['_sort=-_lastUpdated', '_sort'],
      ['_at=2026-01-01', '_at'],
      ['__proto__=1', '__proto__'],
    ];
    for (const level of levels) {
      for (const [query, expression] of bad) {
        expectOutcome(await fhir.get(`${level}?${query}`), 400, expression);
      }
      // https://hl7.org/fhir/R4/search.html#errors: unknown parameters are ignored when the client prefers it.
      const lenient = await fhir.get(`${level}?foo=1&_sort=x`, { prefer: 'handling=lenient' });
      assert.equal(lenient.status, 200, JSON.stringify(lenient.body));
      assert.equal(lenient.body.type, 'history');
      assert.ok(lenient.body.entry.some((e: { fullUrl: string }) => e.fullUrl.endsWith(`Patient/${patient.id}`)));
      // Lenient handling does not make a bad value of a known parameter acceptable.
      expectOutcome(await fhir.get(`${level}?_count=abc`, { prefer: 'handling=lenient' }), 400, '_count');
      assert.equal((await fhir.get(`${level}?_count=1&_since=2000-01-01T00:00:00Z`)).status, 200);
    }
    await project.assertUnchanged();
  });

  it('answers 404 to a version id that is not one of the resource', async () => {
    const project = await watchProject(server);
    const { fhir, patient, member } = project;
    const other = (await fhir.get(member.profile)).body;
    for (const vid of ['1', 'abc', 'x'.repeat(65), 'a$b', '%20', 'a%00', crypto.randomUUID(), other.meta.versionId, patient.id]) {
      expectOutcome(await fhir.get(`Patient/${patient.id}/_history/${vid}`), 404);
    }
    expectOutcome(await fhir.get(`Patient/${patient.id}/_history/%zz`), 400);
    expectOutcome(await fhir.get(`Patient/${patient.id}/_history/${'9'.repeat(300)}`), 400);
    // That version id is the member's Practitioner's, not the Patient's.
    assert.equal((await fhir.get(`${member.profile}/_history/${other.meta.versionId}`)).status, 200);
    await project.assertUnchanged();
  });
});
