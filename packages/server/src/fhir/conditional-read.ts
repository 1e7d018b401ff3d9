/**
 * Conditional read (https://hl7.org/fhir/R4/http.html#cread): whether a client's cached copy
 * is still current, from `If-None-Match` (the version's ETag) or `If-Modified-Since`, so the
 * read can answer 304 without a body. As RFC 9110 §13.1.3 says, `If-Modified-Since` is
 * ignored when `If-None-Match` is present, and when it is not a valid HTTP date.
 */
import type { Resource } from '@medplum/fhirtypes';
import { parseETag } from './repository.js';

export interface ReadConditions {
  ifNoneMatch?: string;
  ifModifiedSince?: string;
}

export function isNotModified(resource: Resource, conditions: ReadConditions): boolean {
  const versionId = resource.meta?.versionId;
  if (conditions.ifNoneMatch !== undefined) {
    const tags = conditions.ifNoneMatch.split(',').map((t) => t.trim());
    // `*` matches any current representation (RFC 9110 §13.1.2).
    return tags.includes('*') || (versionId !== undefined && tags.some((t) => parseETag(t) === versionId));
  }
  if (conditions.ifModifiedSince !== undefined && resource.meta?.lastUpdated) {
    const since = Date.parse(conditions.ifModifiedSince);
    if (Number.isNaN(since)) {
      return false;
    }
    // HTTP dates have whole seconds: compare the version's time at that precision.
    const modified = Math.floor(Date.parse(resource.meta.lastUpdated) / 1000) * 1000;
    return modified <= since;
  }
  return false;
}
