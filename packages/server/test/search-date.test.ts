/**
 * Date search (https://hl7.org/fhir/R4/search.html#date): every prefix, on values of every
 * precision (a year, a month, a day, an instant with a time zone) and on Periods, open ones
 * included; partial search values are ranges too. Then _lastUpdated, moved by the fake clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Encounter, Observation, Patient } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { startTestServer, type TestServer } from './harness.js';
import { searchProject, sorted, type SearchProject } from './search-helpers.js';

describe('search: date parameters', () => {
  let server: TestServer;
  let p: SearchProject;
  // [birthDate, id], in date order (an object would put the integer-like key "1990" first).
  const born: Array<[string, string]> = [];

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    for (const birthDate of ['1989-12-31', '1990', '1990-05', '1990-05-05', '1991-01-01']) {
      born.push([birthDate, (await p.create<Patient>({ resourceType: 'Patient', birthDate })).id]);
    }
  });
  after(() => server.close());

  const birth = async (query: string): Promise<string[]> => {
    const ids = await p.ids(`Patient?birthdate=${query}`);
    return born.filter(([, id]) => ids.includes(id)).map(([date]) => date);
  };

  it('eq (the default): the search range contains the value\'s range', async () => {
    assert.deepEqual(await birth('1990'), ['1990', '1990-05', '1990-05-05']);
    assert.deepEqual(await birth('eq1990-05'), ['1990-05', '1990-05-05']);
    assert.deepEqual(await birth('1990-05-05'), ['1990-05-05']);
    assert.deepEqual(await birth('ne1990-05'), ['1989-12-31', '1990', '1991-01-01']);
  });

  it('gt, ge, lt and le compare the ranges above and below the search value', async () => {
    assert.deepEqual(await birth('gt1990'), ['1991-01-01']);
    assert.deepEqual(await birth('ge1990'), ['1990', '1990-05', '1990-05-05', '1991-01-01']);
    assert.deepEqual(await birth('lt1990'), ['1989-12-31']);
    assert.deepEqual(await birth('le1990-05'), ['1989-12-31', '1990', '1990-05', '1990-05-05']);
    assert.deepEqual(await birth('gt1990-05-04'), ['1990', '1990-05', '1990-05-05', '1991-01-01']);
  });

  it('sa and eb: starts after and ends before', async () => {
    assert.deepEqual(await birth('sa1990'), ['1991-01-01']);
    assert.deepEqual(await birth('eb1990'), ['1989-12-31']);
    assert.deepEqual(await birth('sa1990-05-04'), ['1990-05-05', '1991-01-01']);
  });

  it('ap matches values within 10% of the distance from now', async () => {
    // From about 36 years ago, 10% is more than 3 years either side.
    assert.deepEqual(await birth('ap1990-05-05'), ['1989-12-31', '1990', '1990-05', '1990-05-05', '1991-01-01']);
    assert.deepEqual(await birth('ap1980'), []);
    const now = server.clock.now();
    const recent = await p.create<Patient>({ resourceType: 'Patient', birthDate: new Date(now.getTime() - 5 * 86_400_000).toISOString().slice(0, 10) });
    const today = now.toISOString().slice(0, 10);
    assert.deepEqual(await p.ids(`Patient?birthdate=ap${today}`), []);
    assert.ok((await p.ids(`Patient?birthdate=ap${new Date(now.getTime() - 4 * 86_400_000).toISOString().slice(0, 10)}`)).includes(recent.id));
  });

  it('a range between two repeated parameters, and OR across values', async () => {
    const id = (date: string): string => born.find(([d]) => d === date)?.[1] as string;
    assert.deepEqual(await p.ids('Patient?birthdate=ge1990-01-01&birthdate=lt1991-01-01'), sorted(id('1990'), id('1990-05'), id('1990-05-05')));
    assert.deepEqual(await birth('1989-12-31,1991'), ['1989-12-31', '1991-01-01']);
  });

  it('Periods, open-ended ones included', async () => {
    const jan = await p.create<Encounter>({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period: { start: '2020-01-10', end: '2020-01-20' } });
    const open = await p.create<Encounter>({ resourceType: 'Encounter', status: 'in-progress', class: { code: 'AMB' }, period: { start: '2021-01-01T08:00:00Z' } });
    const q = async (v: string): Promise<string[]> => p.ids(`Encounter?date=${v}`);
    assert.deepEqual(await q('2020-01'), [jan.id]);
    assert.deepEqual(await q('2020-01-15'), []);
    assert.deepEqual(await q('ge2020-01-15'), sorted(jan.id, open.id));
    assert.deepEqual(await q('lt2020-01-11'), [jan.id]);
    assert.deepEqual(await q('sa2020-01-09'), sorted(jan.id, open.id));
    assert.deepEqual(await q('eb2020-01-21'), [jan.id]);
    assert.deepEqual(await q('eb2020-01-20'), []);
    assert.deepEqual(await q('gt2030'), [open.id]);
    assert.deepEqual(await q('lt2020'), []);
  });

  it('instants with time zones compare in UTC, search values too', async () => {
    // 23:30 at UTC-5 on 1 June is 04:30 UTC on 2 June.
    const late = await p.create<Observation>({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, effectiveDateTime: '2020-06-01T23:30:00-05:00' });
    assert.deepEqual(await p.ids('Observation?date=2020-06-02'), [late.id]);
    assert.deepEqual(await p.ids('Observation?date=2020-06-01'), []);
    assert.deepEqual(await p.ids(`Observation?date=${encodeURIComponent('ge2020-06-01T23:00:00-05:00')}`), [late.id]);
    assert.deepEqual(await p.ids(`Observation?date=${encodeURIComponent('gt2020-06-01T23:30:00-05:00')}`), []);
    assert.deepEqual(await p.ids('Observation?date=2020-06-02T04:30:00Z'), [late.id]);
    assert.deepEqual(await p.ids('Observation?date=2020-06-02T04:30Z'), [late.id]);
  });

  it('refuses a malformed date, naming the parameter', async () => {
    expectOutcome(await p.fhir.get('Patient?birthdate=yesterday'), 400, 'birthdate');
    expectOutcome(await p.fhir.get('Patient?birthdate=1990-13'), 400, 'birthdate');
    expectOutcome(await p.fhir.get('Patient?birthdate=xx1990'), 400, 'birthdate');
    expectOutcome(await p.fhir.get('Patient?birthdate:exact=1990'), 400, 'birthdate:exact');
  });
});

describe('search: _lastUpdated', () => {
  let server: TestServer;
  let p: SearchProject;

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
  });
  after(() => server.close());

  it('compares the instant each version was written', async () => {
    const first = await p.create<Patient>({ resourceType: 'Patient' });
    server.clock.advance(60_000);
    const middle = server.clock.now().toISOString();
    server.clock.advance(60_000);
    const second = await p.create<Patient>({ resourceType: 'Patient' });
    const q = (v: string): Promise<string[]> => p.ids(`Patient?_lastUpdated=${encodeURIComponent(v)}`);
    assert.deepEqual(await q(`gt${middle}`), [second.id]);
    assert.deepEqual(await q(`lt${middle}`), [first.id]);
    assert.deepEqual(await q(`eq${first.meta?.lastUpdated}`), [first.id]);
    assert.deepEqual(await q(`ge${second.meta?.lastUpdated}`), [second.id]);
    assert.deepEqual(await q(`le${first.meta?.lastUpdated}`), [first.id]);
    assert.deepEqual(await q(`sa${first.meta?.lastUpdated}`), [second.id]);
    assert.deepEqual(await q(`eb${second.meta?.lastUpdated}`), [first.id]);
    assert.deepEqual(await q(`ne${first.meta?.lastUpdated}`), [second.id]);
  });
});
