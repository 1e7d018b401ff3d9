/**
 * The page SQL's shapes (src/fhir/search/search-sql.ts, driven-page.ts): a page in the default order is driven
 * by one index condition's ids, walked in order, each checked against everything else; and the
 * date conditions written with a redundant bound for the (code, high) index (compile-date.ts).
 * What these could get wrong: a short page or a wrong next link when the ids the index offers
 * fail another condition, a deleted resource coming back through index rows left behind, a
 * cursor that skips or repeats rows, and a date match that relies on low < high.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Encounter, Observation } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './harness.js';
import { entryIds, linkPath, searchProject, sorted, type SearchBundle, type SearchProject } from './search-helpers.js';

const CODE = 'http://example.org/codes|paging-1';

describe('search pages driven by an index', () => {
  let server: TestServer;
  let p: SearchProject;
  /** Observations with CODE: every third dated 2019, the others 2021. */
  const recent: string[] = [];
  const old: string[] = [];

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    for (let i = 0; i < 9; i++) {
      const year = i % 3 === 0 ? 2019 : 2021;
      const obs = await p.create<Observation>({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://example.org/codes', code: 'paging-1' }] },
        effectiveDateTime: `${year}-06-01`,
      });
      (year === 2019 ? old : recent).push(obs.id);
    }
  });
  after(() => server.close());

  /** Follows `next` links from `query`, returning each page's ids. */
  async function pages(query: string, between?: () => Promise<void>): Promise<string[][]> {
    const seen: string[][] = [];
    let path: string | undefined = query;
    while (path) {
      const bundle: SearchBundle = await p.search(path);
      seen.push(entryIds(bundle));
      path = linkPath(server, bundle, 'next');
      if (path && between) await between();
    }
    return seen;
  }

  it('fills each page and links exactly when ids the index offers fail another condition', async () => {
    // The code drives the page; a third of its ids fail the date and are skipped, not counted.
    const walked = await pages(`Observation?code=${CODE}&date=ge2020-01-01&_count=2`);
    assert.deepEqual(walked.map((page) => page.length), [2, 2, 2], 'three full pages, and no empty fourth');
    assert.deepEqual(walked.flat(), sorted(...recent), 'every match once, in id order');
    const byId = entryIds(await p.search(`Observation?code=${CODE}&date=ge2020-01-01&_sort=_id`));
    assert.deepEqual(walked.flat(), byId, 'the same order as an explicit _sort=_id (the general page)');
  });

  it('previous links lead back to the same pages', async () => {
    const first = await p.search(`Observation?code=${CODE}&date=ge2020-01-01&_count=2`);
    const second = await p.search(linkPath(server, first, 'next') as string);
    const third = await p.search(linkPath(server, second, 'next') as string);
    assert.equal(linkPath(server, third, 'next'), undefined);
    const back = await p.search(linkPath(server, third, 'previous') as string);
    assert.deepEqual(entryIds(back), entryIds(second));
    const start = await p.search(linkPath(server, back, 'previous') as string);
    assert.deepEqual(entryIds(start), entryIds(first));
    assert.equal(linkPath(server, start, 'previous'), undefined);
  });

  it('a deleted resource whose index rows remain is neither returned nor counted', async () => {
    const gone = await p.create<Observation>({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://example.org/codes', code: 'paging-2' }] } });
    const kept = await p.create<Observation>({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://example.org/codes', code: 'paging-2' }] } });
    assert.equal((await p.fhir.delete(`Observation/${gone.id}`)).status, 200);
    // Deleting removes the index rows; put one back, as a store that kept them would have.
    await server.deps.db.query(
      `INSERT INTO search_token (project_id, resource_type, code, system, value, resource_id) VALUES ($1, 'Observation', 'code', 'http://example.org/codes', 'paging-2', $2)`,
      [p.member.projectId, gone.id],
    );
    const query = 'Observation?code=http://example.org/codes|paging-2';
    assert.deepEqual(await p.ids(query), [kept.id]);
    assert.equal((await p.search(`${query}&_total=accurate`)).total, 1);
    const one = await p.search(`${query}&_count=1`);
    assert.deepEqual(entryIds(one), [kept.id]);
    assert.equal(linkPath(server, one, 'next'), undefined, 'no next page for the deleted one');
  });

  it('pages stay stable while matches are created and deleted between fetches', async () => {
    const before = sorted(...recent);
    const added: string[] = [];
    const removed: string[] = [];
    const seen = (
      await pages(`Observation?code=${CODE}&date=ge2020-01-01&_count=2`, async () => {
        const obs = await p.create<Observation>({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://example.org/codes', code: 'paging-1' }] }, effectiveDateTime: '2022-01-01' });
        added.push(obs.id);
        const victim = added.length > 1 ? added.shift() : undefined;
        if (victim) {
          assert.equal((await p.fhir.delete(`Observation/${victim}`)).status, 200);
          removed.push(victim);
        }
      })
    ).flat();
    assert.equal(new Set(seen).size, seen.length, 'no resource twice');
    assert.deepEqual(before.filter((id) => !seen.includes(id)), [], 'every match that existed throughout was seen');
    assert.ok(seen.every((id) => before.includes(id) || added.includes(id) || removed.includes(id)));
  });
});

describe('date conditions with a bound on high', () => {
  let server: TestServer;
  let p: SearchProject;
  let january: string;
  let backwards: string;

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    const encounter = (start: string, end: string): Encounter => ({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period: { start, end } });
    january = (await p.create(encounter('2020-01-01', '2020-01-31'))).id;
    // Against invariant per-1, but stored anyway: it covers both its instants.
    backwards = (await p.create(encounter('2020-03-10', '2020-03-01'))).id;
  });
  after(() => server.close());

  it('ge, le and eq at the edges of a Period', async () => {
    assert.deepEqual(await p.ids('Encounter?date=ge2020-01-15&date=lt2020-02-01'), [january]);
    assert.deepEqual(await p.ids('Encounter?date=ge2020-02-01&date=lt2020-03-01'), [], 'ends before the day ge names');
    assert.deepEqual(await p.ids('Encounter?date=le2019-12-31'), [], 'starts after the day le names');
    assert.deepEqual(await p.ids('Encounter?date=le2020-01-15&date=lt2020-02-01'), [january]);
    assert.deepEqual(await p.ids('Encounter?date=eq2020-01'), [january]);
    assert.deepEqual(await p.ids('Encounter?date=eq2020-01-15'), []);
    assert.deepEqual(await p.ids('Encounter?date=ne2020-01&date=lt2020-02-01'), []);
  });

  it('a Period that ends before it starts matches every day between its two instants', async () => {
    assert.deepEqual(await p.ids('Encounter?date=ge2020-03-05&date=lt2020-04-01'), [backwards]);
    assert.deepEqual(await p.ids('Encounter?date=le2020-03-05&date=ge2020-02-15'), [backwards]);
    assert.deepEqual(await p.ids('Encounter?date=eq2020-03'), [backwards]);
  });
});
