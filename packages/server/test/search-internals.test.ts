/**
 * The search building blocks on their own: date ranges at every precision, the implicit
 * precision of numbers, text normalisation, escaping, and the planner estimate behind
 * `_total=estimate` (which the HTTP suites only reach past 10,000 matches) on this database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { halfUnit } from '../src/fhir/search/compile-number.js';
import { compileSearch } from '../src/fhir/search/compile-search.js';
import { parseDateRange, periodRange } from '../src/fhir/search/date-range.js';
import { splitUnescaped, unescapeValue } from '../src/fhir/search/escaping.js';
import { normalizeText } from '../src/fhir/search/normalize.js';
import { parseSearchRequest } from '../src/fhir/search/parse.js';
import { buildEstimateQuery, readPlanRows } from '../src/fhir/search/search-sql.js';
import { startTestServer, type TestServer } from './harness.js';
import { searchProject } from './search-helpers.js';

describe('search internals', () => {
  it('date ranges follow the precision of the value', () => {
    const range = (v: string): [string, string] | undefined => {
      const r = parseDateRange(v);
      return r && [r.low, r.high];
    };
    assert.deepEqual(range('2020'), ['2020-01-01T00:00:00.000Z', '2021-01-01T00:00:00.000Z']);
    assert.deepEqual(range('2020-12'), ['2020-12-01T00:00:00.000Z', '2021-01-01T00:00:00.000Z']);
    assert.deepEqual(range('2020-02-29'), ['2020-02-29T00:00:00.000Z', '2020-03-01T00:00:00.000Z']);
    assert.deepEqual(range('2020-01-01T10:00+02:00'), ['2020-01-01T08:00:00.000Z', '2020-01-01T08:01:00.000Z']);
    assert.deepEqual(range('2020-01-01T10:00:00Z'), ['2020-01-01T10:00:00.000Z', '2020-01-01T10:00:01.000Z']);
    assert.deepEqual(range('2020-01-01T10:00:00.5Z'), ['2020-01-01T10:00:00.500Z', '2020-01-01T10:00:00.600Z']);
    assert.deepEqual(range('0050-06'), ['0050-06-01T00:00:00.000Z', '0050-07-01T00:00:00.000Z']);
    for (const bad of ['2021-02-29', '2020-13', '2020-00-10', '20', '2020-1-1', '2020-01-01T25:00Z', 'today']) {
      assert.equal(parseDateRange(bad), undefined, bad);
    }
    assert.deepEqual(periodRange('2020-01-01', undefined)?.high, 'infinity');
    assert.deepEqual(periodRange(undefined, '2020-01-01')?.low, '-infinity');
    assert.equal(periodRange(undefined, undefined), undefined);
  });

  it('a number carries half a unit of its last digit', () => {
    assert.equal(Number(halfUnit('100')), 0.5);
    assert.equal(Number(halfUnit('100.00')), 0.005);
    assert.equal(Number(halfUnit('1e2')), 50);
    assert.equal(Number(halfUnit('-2.5e-3')), 0.00005);
  });

  it('text is compared lower-case without accents; escapes split and unescape', () => {
    assert.equal(normalizeText('Zoë ÅNGSTRÖM'), 'zoe angstrom');
    assert.deepEqual(splitUnescaped('a\\|b|c\\,d', '|'), ['a\\|b', 'c\\,d']);
    assert.equal(unescapeValue('a\\|b\\\\c'), 'a|b\\c');
  });

  describe('the planner estimate', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
    });
    after(() => server.close());

    it('runs on this database with the search parameters bound', async () => {
      const p = await searchProject(server);
      await p.create({ resourceType: 'Patient', name: [{ family: 'Estimate' }] });
      const compiled = compileSearch(parseSearchRequest('Patient', [['family', 'est'], ['_sort', 'birthdate']], false), { fhirBase: server.fhirUrl, now: new Date() });
      const query = buildEstimateQuery(compiled);
      const { rows } = await server.deps.db.query<Record<string, unknown>>(query.sql, [p.member.projectId, 'Patient', ...query.params]);
      assert.ok(Number.isInteger(readPlanRows(rows[0])) && readPlanRows(rows[0]) >= 1, JSON.stringify(rows[0]).slice(0, 300));
    });
  });
});
