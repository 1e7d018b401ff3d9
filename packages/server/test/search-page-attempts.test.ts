/**
 * A driven page read in attempts (src/fhir/search/driven-page.ts): a date range first walks the
 * parameter's rows in id order, a chain first takes a few ids per target, then a top-N of the
 * driving ids, then all of them, each attempt only when the one before fell short. What these
 * could get wrong: a page that an early attempt filled with the wrong rows (its ids not a prefix
 * of the full walk), a missing fallback (short pages, lost next links), and cursors across
 * attempts. Every page is compared with the general page (`_sort=_id`), which none of this
 * touches, and the statements a first page takes show which attempt filled it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Encounter, Observation, Patient } from '@medplum/fhirtypes';
import type { Database } from '../src/db/database.js';
import { ResourceStore } from '../src/fhir/resource-store.js';
import { projectScope } from '../src/fhir/scope.js';
import { executeSearch } from '../src/fhir/search/execute-search.js';
import { parseSearchRequest } from '../src/fhir/search/parse.js';
import { startTestServer, type TestServer } from './harness.js';
import { entryIds, linkPath, searchProject, type SearchProject } from './search-helpers.js';

/** walk-000 .. walk-099: 000-089 took place in 2019, 090-099 in 2022. */
const ENCOUNTERS = 100;
const id = (i: number): string => `walk-${String(i).padStart(3, '0')}`;
const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_v, k) => id(from + k));

describe('search pages read in attempts', () => {
  let server: TestServer;
  let p: SearchProject;
  /** Observations of the three Patients named Attemptson, by id; and each Patient's four, by id. */
  const chained: string[] = [];
  const byPatient: string[][] = [];

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    for (let i = 0; i < ENCOUNTERS; i++) {
      const year = i < 90 ? 2019 : 2022;
      const res = await p.fhir.put(`Encounter/${id(i)}`, { resourceType: 'Encounter', id: id(i), status: 'planned', class: { code: 'AMB' }, period: { start: `${year}-03-01`, end: `${year}-03-02` } } satisfies Encounter);
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    for (let n = 0; n < 3; n++) {
      const patient = await p.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Attemptson' }] });
      const own: string[] = [];
      for (let k = 0; k < 4; k++) {
        const obs = await p.create<Observation>({ resourceType: 'Observation', status: 'final', code: { text: 'attempt' }, subject: { reference: `Patient/${patient.id}` } });
        own.push(obs.id);
      }
      byPatient.push(own.sort());
      chained.push(...own);
    }
    chained.sort();
  });
  after(() => server.close());

  /** Every page's ids, following next links. */
  async function pages(query: string): Promise<string[][]> {
    const seen: string[][] = [];
    let path: string | undefined = query;
    while (path) {
      const bundle = await p.search(path);
      seen.push(entryIds(bundle));
      path = linkPath(server, bundle, 'next');
      assert.ok(seen.length <= ENCOUNTERS, `${query}: paging ends`);
    }
    return seen;
  }

  /** The statements the first page of `query` takes (the store run on the server's database, recorded). */
  async function firstPageStatements(type: string, query: string): Promise<number> {
    let statements = 0;
    const db = server.deps.db;
    const recording: Database = {
      kind: db.kind,
      query: (sql, params, options) => {
        statements += 1;
        return db.query(sql, params, options);
      },
      exec: (sql) => db.exec(sql),
      transaction: (fn) => db.transaction(fn),
      close: async () => undefined,
    };
    const request = parseSearchRequest(type, [...new URLSearchParams(query)], false, []);
    await executeSearch(new ResourceStore(recording), projectScope(p.member.projectId), request, { fhirBase: 'http://localhost/fhir/R4/', now: new Date() });
    return statements;
  }

  /** Pages of two, against the general page of the same search and the expected ids. */
  async function assertPaged(type: string, query: string, expected: string[]): Promise<void> {
    const walked = await pages(`${type}?${query}&_count=2`);
    assert.deepEqual(walked.flat(), expected, `${query}: every match once, in id order`);
    assert.ok(walked.slice(0, -1).every((page) => page.length === 2), `${query}: every page but the last is full`);
    assert.equal(walked.at(-1)?.length, expected.length % 2 === 0 ? 2 : 1, `${query}: no empty last page`);
    assert.deepEqual(entryIds(await p.search(`${type}?${query}&_sort=_id&_count=1000`)), expected, `${query}: as the general page`);
  }

  it('a date range whose matches are most of its rows: the walk fills each page', async () => {
    await assertPaged('Encounter', 'date=lt2020-01-01', range(0, 90));
    assert.equal(await firstPageStatements('Encounter', 'date=lt2020-01-01&_count=2'), 1, 'the walk alone');
  });

  it('matches the walk does not reach: the top-N fills the page, and later pages walk from the cursor', async () => {
    // Pages of two read 3 rows: the walk reads 75 index rows (walk-000..074), none in range.
    await assertPaged('Encounter', 'date=gt2021-01-01', range(90, 100));
    assert.equal(await firstPageStatements('Encounter', 'date=gt2021-01-01&_count=2'), 2, 'the walk, then the top-N');
  });

  it('other conditions refusing most ids: the full walk after both short attempts', async () => {
    const wanted = [id(50), id(80), id(95), id(99)];
    await assertPaged('Encounter', `date=lt2030-01-01&_id=${wanted.join(',')}`, wanted);
    assert.equal(await firstPageStatements('Encounter', `date=lt2030-01-01&_id=${wanted.join(',')}&_count=2`), 3, 'walk, top-N, all');
  });

  it('an attempt that saw every candidate ends the page however short: one statement', async () => {
    // Pages of 20 read 21 rows: the walk may read 525 index rows, more than the 100 there are.
    assert.equal(await firstPageStatements('Encounter', 'date=gt2021-01-01&_count=20'), 1);
    assert.deepEqual(entryIds(await p.search('Encounter?date=gt2021-01-01&_count=20')), range(90, 100));
    // Three Patients of that name: the top-N takes up to 84 ids and finds 3.
    assert.equal(await firstPageStatements('Patient', 'name=Attemptson'), 1);
    assert.equal((await p.ids('Patient?name=Attemptson')).length, 3);
  });

  it('previous links lead back through pages read by different attempts', async () => {
    const first = await p.search('Encounter?date=gt2021-01-01&_count=2');
    const second = await p.search(linkPath(server, first, 'next') as string);
    const third = await p.search(linkPath(server, second, 'next') as string);
    assert.deepEqual(entryIds(third), [id(94), id(95)]);
    const back = await p.search(linkPath(server, third, 'previous') as string);
    assert.deepEqual(entryIds(back), entryIds(second));
    const start = await p.search(linkPath(server, back, 'previous') as string);
    assert.deepEqual(entryIds(start), [id(90), id(91)]);
    assert.equal(linkPath(server, start, 'previous'), undefined);
  });

  it('a chain: a few ids per target fill the page; with other conditions refusing them, the later attempts do', async () => {
    await assertPaged('Observation', 'subject:Patient.name=Attemptson', chained);
    assert.equal(await firstPageStatements('Observation', 'subject:Patient.name=Attemptson&_count=2'), 1, 'the per-target attempt alone');
    // Pages of two take 3 ids per target (9 in all) first; the last of each target's four is not among them.
    const some = [...byPatient.map((own) => own[3] as string), chained[0] as string].sort();
    assert.ok((await firstPageStatements('Observation', `subject:Patient.name=Attemptson&_id=${some.join(',')}&_count=2`)) > 1, 'a later attempt');
    await assertPaged('Observation', `subject:Patient.name=Attemptson&_id=${some.join(',')}`, some);
  });
});
