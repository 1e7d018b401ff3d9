/**
 * Number and quantity search (https://hl7.org/fhir/R4/search.html#number, #quantity): the
 * implicit precision of eq (`100` is [99.5, 100.5)), every prefix, Ranges, and quantities
 * with system|code or a bare unit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Observation, RiskAssessment } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { startTestServer, type TestServer } from './harness.js';
import { searchProject, sorted, type SearchProject } from './search-helpers.js';

const UCUM = 'http://unitsofmeasure.org';

describe('search: number parameters', () => {
  let server: TestServer;
  let p: SearchProject;
  const risk: Array<[number | string, string]> = [];

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    for (const probability of [0.1, 0.25, 0.3, 0.35]) {
      const r = await p.create<RiskAssessment>({ resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/x' }, prediction: [{ probabilityDecimal: probability }] });
      risk.push([probability, r.id]);
    }
    const range = await p.create<RiskAssessment>({
      resourceType: 'RiskAssessment',
      status: 'final',
      subject: { reference: 'Patient/x' },
      prediction: [{ probabilityRange: { low: { value: 0.5, code: '%', system: UCUM }, high: { value: 0.7, code: '%', system: UCUM } } }],
    });
    risk.push(['0.5-0.7', range.id]);
  });
  after(() => server.close());

  const q = async (v: string): Promise<Array<number | string>> => {
    const ids = await p.ids(`RiskAssessment?probability=${v}`);
    return risk.filter(([, id]) => ids.includes(id)).map(([value]) => value);
  };

  it('eq honours the precision of the search value', async () => {
    // "0.3" is [0.25, 0.35): 0.25 in, 0.35 out; "0.30" is [0.295, 0.305).
    assert.deepEqual(await q('0.3'), [0.25, 0.3]);
    assert.deepEqual(await q('eq0.3'), [0.25, 0.3]);
    assert.deepEqual(await q('0.30'), [0.3]);
    assert.deepEqual(await q('0.25'), [0.25]);
    assert.deepEqual(await q('3e-1'), [0.25, 0.3]);
    assert.deepEqual(await q('ne0.30'), [0.1, 0.25, 0.35, '0.5-0.7']);
  });

  it('gt, ge, lt, le, sa, eb compare the number itself', async () => {
    assert.deepEqual(await q('gt0.3'), [0.35, '0.5-0.7']);
    assert.deepEqual(await q('ge0.3'), [0.3, 0.35, '0.5-0.7']);
    assert.deepEqual(await q('lt0.3'), [0.1, 0.25]);
    assert.deepEqual(await q('le0.3'), [0.1, 0.25, 0.3]);
    assert.deepEqual(await q('sa0.6'), []);
    assert.deepEqual(await q('gt0.6'), ['0.5-0.7']);
    assert.deepEqual(await q('eb0.6'), [0.1, 0.25, 0.3, 0.35]);
  });

  it('ap is within 10%', async () => {
    assert.deepEqual(await q('ap0.3'), [0.3]);
    assert.deepEqual(await q('ap0.33'), [0.3, 0.35]);
  });

  it('refuses a malformed number, naming the parameter', async () => {
    expectOutcome(await p.fhir.get('RiskAssessment?probability=high'), 400, 'probability');
    expectOutcome(await p.fhir.get('RiskAssessment?probability=gt'), 400, 'probability');
    expectOutcome(await p.fhir.get('RiskAssessment?probability:missing=1'), 400, 'probability:missing');
  });
});

describe('search: quantity parameters', () => {
  let server: TestServer;
  let p: SearchProject;
  let mg: Observation & { id: string };
  let g: Observation & { id: string };
  let local: Observation & { id: string };

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    const obs = (valueQuantity: Observation['valueQuantity']): Observation => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity });
    mg = await p.create(obs({ value: 5.4, unit: 'milligram', system: UCUM, code: 'mg' }));
    g = await p.create(obs({ value: 5.4, unit: 'g', system: UCUM, code: 'g' }));
    local = await p.create(obs({ value: 120, unit: 'mmHg' }));
  });
  after(() => server.close());

  it('a number alone matches any unit', async () => {
    assert.deepEqual(await p.ids('Observation?value-quantity=5.4'), sorted(mg.id, g.id));
    // "5" is [4.5, 5.5), which holds 5.4; "5.0" is [4.95, 5.05), which does not.
    assert.deepEqual(await p.ids('Observation?value-quantity=5'), sorted(mg.id, g.id));
    assert.deepEqual(await p.ids('Observation?value-quantity=5.0'), []);
    assert.deepEqual(await p.ids('Observation?value-quantity=gt100'), [local.id]);
  });

  it('number|system|code matches the coded unit; number||unit a code or unit in any system', async () => {
    assert.deepEqual(await p.ids(`Observation?value-quantity=5.4|${UCUM}|mg`), [mg.id]);
    assert.deepEqual(await p.ids(`Observation?value-quantity=le5.4|${UCUM}|g`), [g.id]);
    assert.deepEqual(await p.ids('Observation?value-quantity=5.4||milligram'), [mg.id]);
    assert.deepEqual(await p.ids('Observation?value-quantity=120||mmHg'), [local.id]);
    assert.deepEqual(await p.ids(`Observation?value-quantity=120|${UCUM}|mmHg`), []);
  });

  it('refuses a malformed quantity', async () => {
    expectOutcome(await p.fhir.get('Observation?value-quantity=5.4|mg'), 400, 'value-quantity');
    expectOutcome(await p.fhir.get('Observation?value-quantity=five'), 400, 'value-quantity');
  });
});
