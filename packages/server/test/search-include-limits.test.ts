/**
 * The bounds of `_include`/`_revinclude` (src/fhir/search/include.ts), driven through a store
 * that answers as many related resources as asked for: at most MAX_INCLUDED resources, then a
 * warning entry in the Bundle; at most MAX_ITERATE_ROUNDS rounds of `:iterate`; and each
 * statement told what is already in the Bundle. (The end-to-end behaviour is in
 * search-include.test.ts; a thousand resources through HTTP would only make this slower.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import type { ResourceStore, StoredVersion } from '../src/fhir/resource-store.js';
import { projectScope } from '../src/fhir/scope.js';
import { buildSearchBundle } from '../src/fhir/search/bundle.js';
import { fetchIncludes, MAX_INCLUDED, MAX_ITERATE_ROUNDS } from '../src/fhir/search/include.js';
import type { ProjectQuery } from '../src/fhir/search/include-sql.js';
import { parseSearchRequest } from '../src/fhir/search/parse.js';

const scope = projectScope('6a1f1a55-7d8e-4c36-9c1b-1f3e0f6f3f10');

/** A store whose every related-resources statement finds `perQuery` new Observations (fewer if the statement's limit is lower). */
function fakeStore(perQuery: number): { store: ResourceStore; statements: ProjectQuery[] } {
  const statements: ProjectQuery[] = [];
  let next = 0;
  const store = {
    async searchRelated(_scope: unknown, query: ProjectQuery): Promise<StoredVersion[]> {
      statements.push(query);
      const limit = query.params[query.params.length - 1] as number;
      return Array.from({ length: Math.min(perQuery, limit) }, () => {
        const id = `o${++next}`;
        const resource = { resourceType: 'Observation', id } as Resource;
        return { resourceType: 'Observation', id, versionId: 'v', lastUpdated: '', deleted: false, resource };
      });
    },
  } as unknown as ResourceStore;
  return { store, statements };
}

const matches: Resource[] = [{ resourceType: 'Observation', id: 'm1' } as Resource];

describe('include bounds', () => {
  it(`stops at ${MAX_INCLUDED} resources and says so in the Bundle`, async () => {
    const { store, statements } = fakeStore(5000);
    const request = parseSearchRequest('Observation', [['_include', 'Observation:has-member']], false);
    const result = await fetchIncludes(store, scope, request.includes, matches, request.unreadable);
    assert.equal(result.resources.length, MAX_INCLUDED);
    assert.equal(result.truncated, true);
    assert.equal(statements.length, 1);
    const bundle = buildSearchBundle('http://x/fhir/R4/', { request, resources: matches, included: result.resources, includesTruncated: true });
    const last = bundle.entry?.[bundle.entry.length - 1];
    assert.equal(last?.search?.mode, 'outcome');
    assert.equal(last?.resource?.resourceType, 'OperationOutcome');
    assert.equal(bundle.entry?.filter((e) => e.search?.mode === 'include').length, MAX_INCLUDED);
  });

  it(`:iterate runs at most ${MAX_ITERATE_ROUNDS} rounds after the first, each told what the Bundle holds`, async () => {
    const { store, statements } = fakeStore(2);
    const request = parseSearchRequest('Observation', [['_include:iterate', 'Observation:has-member']], false);
    const result = await fetchIncludes(store, scope, request.includes, matches, request.unreadable);
    assert.equal(statements.length, 1 + MAX_ITERATE_ROUNDS);
    assert.equal(result.resources.length, 2 * (1 + MAX_ITERATE_ROUNDS));
    assert.equal(result.truncated, false);
    // The last statement excludes the match and everything the earlier rounds added.
    const excluded = statements[statements.length - 1]?.params.find((v) => Array.isArray(v) && v.includes('Observation/m1')) as string[];
    assert.equal(excluded.length, 1 + 2 * MAX_ITERATE_ROUNDS);
  });

  it('without :iterate, one round', async () => {
    const { store, statements } = fakeStore(2);
    const request = parseSearchRequest('Observation', [['_include', 'Observation:has-member']], false);
    await fetchIncludes(store, scope, request.includes, matches, request.unreadable);
    assert.equal(statements.length, 1);
  });
});
