/**
 * What a search returns (https://hl7.org/fhir/R4/search.html#return): the searchset Bundle,
 * _sort, _count, paging links that stay stable while data changes, _total, _summary,
 * _elements, POST _search, and strict or lenient handling of parameters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import { expectOutcome } from './expect-outcome.js';
import { startTestServer, type TestServer } from './harness.js';
import { entryIds, linkPath, searchProject, sorted, type SearchBundle, type SearchProject } from './search-helpers.js';

describe('search results: Bundle, sort, summary, handling', () => {
  let server: TestServer;
  let p: SearchProject;
  const people: Array<Patient & { id: string }> = [];

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    const rows: Array<[string, string, string?]> = [['Brown', 'Ann', '1980-01-01'], ['Adams', 'Zed', '1990-01-01'], ['Brown', 'Al'], ['Clark', 'Bo', '1970-01-01']];
    for (const [family, given, birthDate] of rows) {
      people.push(await p.create<Patient>({ resourceType: 'Patient', name: [{ family, given: [given] }], ...(birthDate ? { birthDate } : {}), text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' } }));
      server.clock.advance(1000);
    }
  });
  after(() => server.close());

  const families = (b: SearchBundle): string[] => (b.entry ?? []).map((e) => `${(e.resource as Patient).name?.[0]?.family}/${(e.resource as Patient).name?.[0]?.given?.[0]}`);

  it('answers a searchset Bundle: fullUrl, search.mode, self and first links', async () => {
    const b = await p.search('Patient?family=adams');
    assert.equal(b.resourceType, 'Bundle');
    assert.equal(b.total, 1, 'a first page holding every match carries its total');
    const [entry] = b.entry ?? [];
    assert.equal(entry?.fullUrl, `${server.fhirUrl}Patient/${people[1]?.id}`);
    assert.deepEqual(entry?.search, { mode: 'match' });
    assert.equal(b.link.find((l) => l.relation === 'self')?.url, `${server.fhirUrl}Patient?family=adams`);
    assert.equal(b.link.find((l) => l.relation === 'first')?.url, `${server.fhirUrl}Patient?family=adams`);
    assert.equal(b.link.find((l) => l.relation === 'next'), undefined);
  });

  it('_sort on several keys, descending with "-", missing values last either way', async () => {
    assert.deepEqual(families(await p.search('Patient?_sort=family,given')), ['Adams/Zed', 'Brown/Al', 'Brown/Ann', 'Clark/Bo']);
    assert.deepEqual(families(await p.search('Patient?_sort=-family,given')), ['Clark/Bo', 'Brown/Al', 'Brown/Ann', 'Adams/Zed']);
    assert.deepEqual(families(await p.search('Patient?_sort=birthdate')), ['Clark/Bo', 'Brown/Ann', 'Adams/Zed', 'Brown/Al']);
    assert.deepEqual(families(await p.search('Patient?_sort=-birthdate')), ['Adams/Zed', 'Brown/Ann', 'Clark/Bo', 'Brown/Al']);
    assert.deepEqual(families(await p.search('Patient?_sort=-_lastUpdated')), ['Clark/Bo', 'Brown/Al', 'Adams/Zed', 'Brown/Ann']);
    const byId = entryIds(await p.search('Patient?_sort=_id'));
    assert.deepEqual(byId, [...byId].sort());
    expectOutcome(await p.fhir.get('Patient?_sort=shoe-size'), 400, '_sort');
  });

  it('_summary=count gives the total only; _count=0 no entries', async () => {
    const count = await p.search('Patient?_summary=count&family=brown');
    assert.equal(count.total, 2);
    assert.equal(count.entry, undefined);
    const none = await p.search('Patient?_count=0&_total=accurate');
    assert.equal(none.total, 4);
    assert.deepEqual(none.entry, []);
  });

  it('_summary=true and data, and _elements, mark the result SUBSETTED', async () => {
    const subsetted = (r: Patient): boolean => !!r.meta?.tag?.some((t) => t.code === 'SUBSETTED');
    const summary = (await p.search('Patient?_summary=true&family=adams')).entry?.[0]?.resource as Patient;
    assert.ok(summary.name && summary.birthDate && summary.id && summary.meta);
    assert.equal(summary.text, undefined);
    assert.ok(subsetted(summary));
    const data = (await p.search('Patient?_summary=data&family=adams')).entry?.[0]?.resource as Patient;
    assert.equal(data.text, undefined);
    assert.ok(data.name && subsetted(data));
    const elements = (await p.search('Patient?_elements=birthDate&family=adams')).entry?.[0]?.resource as Patient;
    assert.deepEqual(Object.keys(elements).sort(), ['birthDate', 'id', 'meta', 'resourceType']);
    assert.ok(subsetted(elements));
    assert.equal((await p.search('Patient?family=adams')).entry?.[0]?.resource.meta?.tag, undefined);
    expectOutcome(await p.fhir.get('Patient?_summary=maybe'), 400, '_summary');
    expectOutcome(await p.fhir.get('Patient?_elements=name.family'), 400, '_elements');
  });

  it('POST _search takes a form body, combined with URL parameters', async () => {
    const res = await p.fhir.request<SearchBundle>('POST', 'Patient/_search?family=brown', 'given=al', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(entryIds(res.body), [people[2]?.id]);
    assert.equal(res.body.link.find((l) => l.relation === 'self')?.url, `${server.fhirUrl}Patient?family=brown&given=al`);
    const json = await p.fhir.request('POST', 'Patient/_search', { family: 'brown' });
    expectOutcome(json, 400);
  });

  it('strict by default: an unknown parameter is a 400 naming it', async () => {
    expectOutcome(await p.fhir.get('Patient?shoe-size=12'), 400, 'shoe-size');
    expectOutcome(await p.fhir.get('Patient?_filter=family%20eq%20adams'), 400, '_filter');
    expectOutcome(await p.fhir.get('Patient?code=x'), 400, 'code');
    expectOutcome(await p.fhir.get('Patient?_count=many'), 400, '_count');
    expectOutcome(await p.fhir.get('Patient?_total=all'), 400, '_total');
    expectOutcome(await p.fhir.get('Patient?_count=1&_count=2'), 400, '_count');
    expectOutcome(await p.fhir.get('Patient?_cursor=bm9uc2Vuc2U'), 400, '_cursor');
    expectOutcome(await p.fhir.get('Observation?combo-code-value-quantity=x'), 400, 'combo-code-value-quantity');
  });

  it('Prefer: handling=lenient ignores unknown parameters and leaves them out of the links', async () => {
    const b = await p.search('Patient?shoe-size=12&family=adams&_filter=x', { prefer: 'handling=lenient' });
    assert.deepEqual(entryIds(b), [people[1]?.id]);
    assert.equal(b.link.find((l) => l.relation === 'self')?.url, `${server.fhirUrl}Patient?family=adams`);
    // Lenient does not make a malformed value acceptable.
    expectOutcome(await p.fhir.get('Patient?birthdate=soon', { prefer: 'handling=lenient' }), 400, 'birthdate');
  });

  it('the CapabilityStatement declares search-type and the searchable parameters only', async () => {
    const res = await p.fhir.get('metadata');
    const patient = res.body.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
    assert.ok(patient.interaction.some((i: { code: string }) => i.code === 'search-type'));
    const params = new Map(patient.searchParam.map((sp: { name: string; type: string }) => [sp.name, sp.type]));
    assert.equal(params.get('family'), 'string');
    assert.equal(params.get('birthdate'), 'date');
    assert.equal(params.get('_id'), 'token');
    const observation = res.body.rest[0].resource.find((r: { type: string }) => r.type === 'Observation');
    assert.ok(!observation.searchParam.some((sp: { type: string }) => sp.type === 'composite'));
  });

  it('an empty value is ignored; values never become SQL', async () => {
    assert.equal(entryIds(await p.search('Patient?family=')).length, 4);
    assert.deepEqual(entryIds(await p.search(`Patient?family=${encodeURIComponent("x'); DROP TABLE resource; --")}`)), []);
    assert.deepEqual(entryIds(await p.search(`Patient?_id=${encodeURIComponent("' OR '1'='1")}`)), []);
    expectOutcome(await p.fhir.get(`Patient?_sort=${encodeURIComponent('family;DROP TABLE resource')}`), 400, '_sort');
    expectOutcome(await p.fhir.get('Patient?family=a%00b'), 400);
    assert.equal(entryIds(await p.search('Patient')).length, 4);
  });
});

describe('search results: paging, _count and _total', () => {
  let server: TestServer;
  let p: SearchProject;
  const created: string[] = [];

  before(async () => {
    server = await startTestServer();
    p = await searchProject(server);
    for (let i = 0; i < 25; i++) {
      created.push((await p.create<Patient>({ resourceType: 'Patient', name: [{ family: `Page${String(i % 7).padStart(2, '0')}` }] })).id);
    }
  });
  after(() => server.close());

  /** Follows `next` links from `query`, running `between` before each next page; returns every id seen, in order. */
  async function readAll(query: string, between?: (page: number) => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    let path: string | undefined = query;
    for (let page = 0; path !== undefined && page < 100; page++) {
      const bundle = await p.search(path);
      seen.push(...entryIds(bundle));
      path = linkPath(server, bundle, 'next');
      if (path && between) await between(page);
    }
    return seen;
  }

  it('_count defaults to 20 and a next link leads to the rest', async () => {
    const first = await p.search('Patient');
    assert.equal(first.entry?.length, 20);
    assert.equal(first.total, undefined, 'no total unless asked for when there are more pages');
    assert.ok(linkPath(server, first, 'next'));
    assert.deepEqual(sorted(...(await readAll('Patient'))), sorted(...created));
  });

  it('_count above the maximum is capped at 1000, not refused', async () => {
    assert.equal((await p.search('Patient?_count=5000')).entry?.length, 25);
  });

  it('_total=accurate and estimate count every match, not the page', async () => {
    assert.equal((await p.search('Patient?_count=2&_total=accurate')).total, 25);
    assert.equal((await p.search('Patient?_count=2&_total=estimate')).total, 25);
    assert.equal((await p.search('Patient?_count=2&_total=accurate&family=page00')).total, 4);
    assert.equal((await p.search('Patient?_count=2&_total=none')).total, undefined);
  });

  for (const sort of ['', '&_sort=family', '&_sort=-family,-_lastUpdated', '&_sort=-_lastUpdated']) {
    it(`pages stay stable while resources are created between fetches (${sort || 'default order'})`, async () => {
      const before = sorted(...(await readAll(`Patient?_count=100${sort}`)));
      const added: string[] = [];
      const seen = await readAll(`Patient?_count=4${sort}`, async (page) => {
        server.clock.advance(1000);
        added.push((await p.create<Patient>({ resourceType: 'Patient', name: [{ family: `Page0${page % 7}` }] })).id);
      });
      assert.equal(new Set(seen).size, seen.length, `no resource twice: ${seen.length} seen`);
      const missed = before.filter((id) => !seen.includes(id));
      assert.deepEqual(missed, [], 'every resource that existed throughout was seen');
      assert.ok(seen.every((id) => before.includes(id) || added.includes(id)));
      for (const id of added) created.push(id);
    });
  }

  it('previous links lead back to the same pages', async () => {
    for (const sort of ['', '&_sort=family,_lastUpdated']) {
      const first = await p.search(`Patient?_count=3${sort}`);
      assert.equal(linkPath(server, first, 'previous'), undefined);
      const second = await p.search(linkPath(server, first, 'next') as string);
      const third = await p.search(linkPath(server, second, 'next') as string);
      const backToSecond = await p.search(linkPath(server, third, 'previous') as string);
      assert.deepEqual(entryIds(backToSecond), entryIds(second));
      const backToFirst = await p.search(linkPath(server, backToSecond, 'previous') as string);
      assert.deepEqual(entryIds(backToFirst), entryIds(first));
      assert.equal(linkPath(server, backToFirst, 'previous'), undefined, 'the first page, reached backwards, has no previous page');
      assert.deepEqual(entryIds(await p.search(linkPath(server, backToFirst, 'next') as string)), entryIds(second));
    }
  });

  it('a cursor made for one sort is refused for another', async () => {
    const page = await p.search('Patient?_count=2&_sort=family');
    const cursor = new URL(page.link.find((l) => l.relation === 'next')?.url as string).searchParams.get('_cursor') as string;
    expectOutcome(await p.fhir.get(`Patient?_count=2&_sort=family,birthdate&_cursor=${cursor}`), 400, '_cursor');
    // A hand-made cursor whose value is no date is refused before it reaches the database.
    const forged = Buffer.from(JSON.stringify(['n', ["1990'; DROP TABLE resource"], 'x'])).toString('base64url');
    expectOutcome(await p.fhir.get(`Patient?_count=2&_sort=birthdate&_cursor=${forged}`), 400, '_cursor');
  });
});
