/**
 * History as a FHIR Bundle of type `history` (https://hl7.org/fhir/R4/http.html#history),
 * newest first, each entry with its request and response, and a `next` link whose cursor is
 * the history sequence: new versions written while a client pages get higher numbers, so
 * they never shift the pages it has not read yet.
 */
import type { Bundle, BundleEntry, BundleLink } from '@medplum/fhirtypes';
import type { StoredVersion } from './resource-store.js';

const STATUS = { POST: '201 Created', PUT: '200 OK', PATCH: '200 OK', DELETE: '204 No Content' } as const;

export function buildHistoryBundle(fhirBase: string, selfUrl: string, versions: StoredVersion[], pageSize: number): Bundle {
  const entries: BundleEntry[] = versions.slice(0, pageSize).map((v) => {
    const method = v.method ?? (v.deleted ? 'DELETE' : 'PUT');
    const entry: BundleEntry = {
      fullUrl: `${fhirBase}${v.resourceType}/${v.id}`,
      request: { method: method === 'PATCH' ? 'PATCH' : method, url: method === 'POST' ? v.resourceType : `${v.resourceType}/${v.id}` },
      response: { status: STATUS[method], etag: `W/"${v.versionId}"`, lastModified: v.lastUpdated },
    };
    if (!v.deleted && v.resource) {
      entry.resource = v.resource;
    }
    return entry;
  });
  const link: BundleLink[] = [{ relation: 'self', url: selfUrl }];
  const last = versions[pageSize - 1];
  if (versions.length > pageSize && last?.seq) {
    const next = new URL(selfUrl);
    next.searchParams.set('_cursor', last.seq);
    link.push({ relation: 'next', url: next.toString() });
  }
  return { resourceType: 'Bundle', type: 'history', link, entry: entries };
}
