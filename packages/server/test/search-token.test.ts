/**
 * Token search (https://hl7.org/fhir/R4/search.html#token): code, system|code, |code,
 * system|, :not, :text, :missing, :of-type, booleans, _id, _tag and _security; values written
 * by create, update and delete are found (or no longer found) at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Observation, Patient } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { startTestServer, type TestServer } from './harness.js';
import { searchProject, sorted, type SearchProject } from './search-helpers.js';

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';

describe('search: token parameters', () => {
  let server: TestServer;
  let p: SearchProject;
  let hb: Observation & { id: string };
  let glucose: Observation & { id: string };
  let bare: Observation & { id: string };
  let noCode: Observation & { id: string };

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    hb = await p.create<Observation>({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: LOINC, code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood' }], text: 'Hémoglobine' },
      meta: { tag: [{ system: 'http://example.org/tags', code: 'lab' }], security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
    });
    glucose = await p.create<Observation>({ resourceType: 'Observation', status: 'preliminary', code: { coding: [{ system: LOINC, code: '2339-0', display: 'Glucose' }, { system: SNOMED, code: '33747003' }] } });
    bare = await p.create<Observation>({ resourceType: 'Observation', status: 'final', code: { coding: [{ code: '718-7' }] } });
    noCode = await p.create<Observation>({ resourceType: 'Observation', status: 'cancelled', code: { text: 'Nothing coded' } });
  });
  after(() => server.close());

  it('matches a code in any system, system|code, |code and system|', async () => {
    assert.deepEqual(await p.ids('Observation?code=718-7'), sorted(hb.id, bare.id));
    assert.deepEqual(await p.ids(`Observation?code=${LOINC}|718-7`), [hb.id]);
    assert.deepEqual(await p.ids('Observation?code=|718-7'), [bare.id]);
    assert.deepEqual(await p.ids(`Observation?code=${SNOMED}|`), [glucose.id]);
    assert.deepEqual(await p.ids(`Observation?code=${SNOMED}|718-7`), []);
  });

  it('ORs comma-separated values and ANDs repeated parameters', async () => {
    assert.deepEqual(await p.ids(`Observation?code=${LOINC}|718-7,${LOINC}|2339-0`), sorted(hb.id, glucose.id));
    assert.deepEqual(await p.ids('Observation?code=718-7&status=final'), sorted(hb.id, bare.id));
    assert.deepEqual(await p.ids('Observation?code=718-7&status=preliminary'), []);
    assert.deepEqual(await p.ids(`Observation?code=2339-0&code=${SNOMED}|33747003`), [glucose.id]);
  });

  it(':not finds resources without a matching value, including those with no value', async () => {
    assert.deepEqual(await p.ids('Observation?code:not=718-7'), sorted(glucose.id, noCode.id));
    assert.deepEqual(await p.ids('Observation?status:not=final,cancelled'), [glucose.id]);
  });

  it(':text matches display and text by prefix, ignoring case and accents', async () => {
    assert.deepEqual(await p.ids('Observation?code:text=hemoglobine'), [hb.id]);
    assert.deepEqual(await p.ids('Observation?code:text=HEMOGLOBIN%20%5BMass'), [hb.id]);
    assert.deepEqual(await p.ids('Observation?code:text=nothing'), [noCode.id]);
    assert.deepEqual(await p.ids('Observation?code:text=coded'), []);
  });

  it(':missing finds resources with and without a value', async () => {
    const withMethod = await p.create<Observation>({ resourceType: 'Observation', status: 'final', code: { text: 'm' }, method: { coding: [{ code: 'x' }] } });
    const missing = await p.ids('Observation?method:missing=true');
    assert.ok(!missing.includes(withMethod.id));
    assert.ok(missing.includes(hb.id));
    assert.deepEqual(await p.ids('Observation?method:missing=false'), [withMethod.id]);
    expectOutcome(await p.fhir.get('Observation?method:missing=maybe'), 400, 'method:missing');
  });

  it('_tag and _security match meta codings', async () => {
    assert.deepEqual(await p.ids('Observation?_tag=http://example.org/tags|lab'), [hb.id]);
    assert.deepEqual(await p.ids('Observation?_security=R'), [hb.id]);
    assert.deepEqual(await p.ids('Observation?_tag=other'), []);
  });

  it('_id takes one or several ids, and :not', async () => {
    assert.deepEqual(await p.ids(`Observation?_id=${hb.id}`), [hb.id]);
    assert.deepEqual(await p.ids(`Observation?_id=${hb.id},${glucose.id}`), sorted(hb.id, glucose.id));
    assert.ok(!(await p.ids(`Observation?_id:not=${hb.id}`)).includes(hb.id));
  });

  it('identifiers: system|value and :of-type', async () => {
    const mrType = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] };
    const a = await p.create<Patient>({ resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: '123', type: mrType }, { system: 'urn:ssn', value: '999' }] });
    const b = await p.create<Patient>({ resourceType: 'Patient', identifier: [{ system: 'urn:other', value: '123' }] });
    assert.deepEqual(await p.ids('Patient?identifier=123'), sorted(a.id, b.id));
    assert.deepEqual(await p.ids('Patient?identifier=urn:mrn|123'), [a.id]);
    assert.deepEqual(await p.ids('Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|123'), [a.id]);
    assert.deepEqual(await p.ids('Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|999'), []);
    expectOutcome(await p.fhir.get('Patient?identifier:of-type=MR|123'), 400, 'identifier:of-type');
  });

  it('booleans, contact points, and escaped separators', async () => {
    const active = await p.create<Patient>({ resourceType: 'Patient', active: true, telecom: [{ system: 'email', value: 'a|b@example.org' }] });
    await p.create<Patient>({ resourceType: 'Patient', active: false });
    assert.deepEqual(await p.ids('Patient?active=true'), [active.id]);
    assert.deepEqual(await p.ids('Patient?email=a%5C%7Cb@example.org'), [active.id]);
    assert.deepEqual(await p.ids('Patient?telecom=email|a%5C%7Cb@example.org'), [active.id]);
    expectOutcome(await p.fhir.get('Patient?active=yes'), 400, 'active');
    expectOutcome(await p.fhir.get('Patient?identifier=a|b|c'), 400, 'identifier');
    expectOutcome(await p.fhir.get('Patient?identifier:below=a'), 400, 'identifier:below');
  });

  it('an update replaces the old values and a delete removes them', async () => {
    const obs = await p.create<Observation>({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'urn:t', code: 'before' }] } });
    assert.deepEqual(await p.ids('Observation?code=urn:t|before'), [obs.id]);
    const put = await p.fhir.put(`Observation/${obs.id}`, { ...obs, code: { coding: [{ system: 'urn:t', code: 'after' }] } });
    assert.equal(put.status, 200);
    assert.deepEqual(await p.ids('Observation?code=urn:t|before'), []);
    assert.deepEqual(await p.ids('Observation?code=urn:t|after'), [obs.id]);
    const patched = await p.fhir.patch(`Observation/${obs.id}`, [{ op: 'replace', path: '/code/coding/0/code', value: 'patched' }]);
    assert.equal(patched.status, 200);
    assert.deepEqual(await p.ids('Observation?code=urn:t|after'), []);
    assert.deepEqual(await p.ids('Observation?code=urn:t|patched'), [obs.id]);
    assert.equal((await p.fhir.delete(`Observation/${obs.id}`)).status, 200);
    assert.deepEqual(await p.ids('Observation?code=urn:t|patched'), []);
    assert.ok(!(await p.ids('Observation?code:not=urn:t|patched')).includes(obs.id), 'a deleted resource matches no search');
  });
});
