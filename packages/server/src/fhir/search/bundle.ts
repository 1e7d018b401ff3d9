/**
 * The searchset Bundle (https://hl7.org/fhir/R4/bundle.html#searchset,
 * https://hl7.org/fhir/R4/search.html#return): one entry per match with its fullUrl and
 * `search.mode = match`, then the page's `_include`/`_revinclude` resources with
 * `search.mode = include` (in full: `_summary` and `_elements` shape the matches), an
 * OperationOutcome entry (`search.mode = outcome`) when the includes were cut short, and
 * `self`, `first`, `next` and `previous` links made from the parameters the server accepted
 * (ignored ones left out), paging cursors added. A compartment search links to its own path.
 */
import type { Bundle, BundleEntry, BundleLink, Resource } from '@medplum/fhirtypes';
import { outcome } from '../outcomes.js';
import type { SearchResult } from './execute-search.js';
import { MAX_INCLUDED } from './include.js';
import { subsetResource } from './summary.js';

export function buildSearchBundle(fhirBase: string, result: SearchResult): Bundle {
  const { request } = result;
  const path = request.compartment ? `Patient/${request.compartment.patientId}/${request.resourceType}` : request.resourceType;
  const link = (relation: string, cursor?: string): BundleLink => {
    const query = new URLSearchParams(request.linkParams);
    if (cursor !== undefined) {
      query.set('_cursor', cursor);
    }
    const text = query.toString();
    return { relation, url: `${fhirBase}${path}${text ? `?${text}` : ''}` };
  };
  const links = [link('self', request.cursor), link('first')];
  if (result.next) links.push(link('next', result.next));
  if (result.previous) links.push(link('previous', result.previous));
  const entry: BundleEntry[] = [
    ...result.resources.map((resource) => searchEntry(fhirBase, subsetResource(resource, request.summary, request.elements), 'match')),
    ...result.included.map((resource) => searchEntry(fhirBase, resource, 'include')),
  ];
  if (result.includesTruncated) {
    entry.push(truncatedIncludes());
  }
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(result.total === undefined ? {} : { total: result.total }),
    link: links,
    ...(request.summary === 'count' ? {} : { entry }),
  };
}

export function searchEntry(fhirBase: string, resource: Resource, mode: 'match' | 'include'): BundleEntry {
  return { fullUrl: `${fhirBase}${resource.resourceType}/${resource.id}`, resource, search: { mode } };
}

/** Says that some `_include`/`_revinclude` resources were left out (https://hl7.org/fhir/R4/search.html#errors). */
export function truncatedIncludes(): BundleEntry {
  const text = `Only the first ${MAX_INCLUDED} included resources are returned; ask for smaller pages (_count) to get the rest`;
  return { resource: outcome('too-costly', text, ['_include', '_revinclude'], 'warning'), search: { mode: 'outcome' } };
}
