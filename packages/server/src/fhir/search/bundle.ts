/**
 * The searchset Bundle (https://hl7.org/fhir/R4/bundle.html#searchset,
 * https://hl7.org/fhir/R4/search.html#return): one entry per match with its fullUrl and
 * `search.mode = match`, and `self`, `first`, `next` and `previous` links made from the
 * parameters the server accepted (ignored ones left out), paging cursors added.
 */
import type { Bundle, BundleEntry, BundleLink } from '@medplum/fhirtypes';
import type { SearchResult } from './execute-search.js';
import { subsetResource } from './summary.js';

export function buildSearchBundle(fhirBase: string, result: SearchResult): Bundle {
  const { request } = result;
  const link = (relation: string, cursor?: string): BundleLink => {
    const query = new URLSearchParams(request.linkParams);
    if (cursor !== undefined) {
      query.set('_cursor', cursor);
    }
    const text = query.toString();
    return { relation, url: `${fhirBase}${request.resourceType}${text ? `?${text}` : ''}` };
  };
  const links = [link('self', request.cursor), link('first')];
  if (result.next) links.push(link('next', result.next));
  if (result.previous) links.push(link('previous', result.previous));
  const entry: BundleEntry[] = result.resources.map((resource) => ({
    fullUrl: `${fhirBase}${resource.resourceType}/${resource.id}`,
    resource: subsetResource(resource, request.summary, request.elements),
    search: { mode: 'match' },
  }));
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(result.total === undefined ? {} : { total: result.total }),
    link: links,
    ...(request.summary === 'count' ? {} : { entry }),
  };
}
