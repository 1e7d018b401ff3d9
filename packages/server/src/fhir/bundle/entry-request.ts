/**
 * Reads one batch or transaction entry (https://hl7.org/fhir/R4/bundle.html#transaction):
 * its `request` (method and a URL relative to the FHIR base) and `resource` become an
 * EntryAction, the interaction the entry asks for. It checks only the entry's shape; the
 * Repository checks types, ids, permissions and the resource itself.
 *
 * Not supported, and refused with a clear 400: PATCH with FHIRPath Patch (a Parameters
 * resource; JSON Patch goes in a Binary, as https://hl7.org/fhir/R4/http.html#patch says),
 * conditional PATCH, history and operations (`$...`) in entries.
 */
import type { Resource } from '@medplum/fhirtypes';
import { parseJsonBody } from '../../http/json-body.js';
import { badRequest, outcomeError } from '../outcomes.js';
import { entryPath } from './entry-error.js';

export type EntryAction =
  | { kind: 'create'; type: string; resource: Resource; ifNoneExist?: string }
  | { kind: 'update'; type: string; id: string; resource: Resource; ifMatch?: string }
  | { kind: 'conditional-update'; type: string; query: string; resource: Resource; ifMatch?: string }
  | { kind: 'patch'; type: string; id: string; operations: unknown; ifMatch?: string }
  | { kind: 'delete'; type: string; id: string; ifMatch?: string }
  | { kind: 'conditional-delete'; type: string; query: string }
  | { kind: 'read'; type: string; id: string; head: boolean; ifNoneMatch?: string; ifModifiedSince?: string }
  | { kind: 'vread'; type: string; id: string; versionId: string; head: boolean }
  | { kind: 'search'; type: string; query: string; head: boolean };

export interface ParsedEntry {
  index: number;
  fullUrl?: string;
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  action: EntryAction;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
const JSON_PATCH = 'application/json-patch+json';
/** A JSON Patch in a Binary is parsed with the same defences as a request body. */
const PATCH_MAX_DEPTH = 64;

interface RawRequest {
  method?: unknown;
  url?: unknown;
  ifNoneExist?: unknown;
  ifMatch?: unknown;
  ifNoneMatch?: unknown;
  ifModifiedSince?: unknown;
}

export function parseEntry(raw: unknown, index: number, fhirBase: string): ParsedEntry {
  const at = entryPath(index);
  if (!isObject(raw)) {
    throw badRequest('An entry must be an object', at);
  }
  const request = raw.request;
  if (!isObject(request)) {
    throw badRequest('An entry needs a request (method and url)', `${at}.request`);
  }
  const r = request as RawRequest;
  const method = typeof r.method === 'string' ? r.method.toUpperCase() : '';
  if (!METHODS.has(method)) {
    throw badRequest('request.method must be GET, HEAD, POST, PUT, PATCH or DELETE', `${at}.request.method`);
  }
  if (typeof r.url !== 'string' || r.url.trim() === '') {
    throw badRequest('request.url is required', `${at}.request.url`);
  }
  const fullUrl = raw.fullUrl;
  if (fullUrl !== undefined && typeof fullUrl !== 'string') {
    throw badRequest('fullUrl must be a string', `${at}.fullUrl`);
  }
  const url = splitUrl(r.url, fhirBase);
  const text = (name: keyof RawRequest): string | undefined => {
    const value = r[name];
    if (value !== undefined && typeof value !== 'string') {
      throw badRequest(`request.${name} must be a string`, `${at}.request.${name}`);
    }
    return value;
  };
  const action = toAction(method as ParsedEntry['method'], url, raw.resource, at, text);
  return { index, method: method as ParsedEntry['method'], action, ...(fullUrl === undefined ? {} : { fullUrl }) };
}

interface SplitUrl {
  segments: string[];
  query: string | undefined;
}

/** `Patient/1?x=y`, `/Patient/1` or `[base]Patient/1` into path segments and the query. */
function splitUrl(url: string, fhirBase: string): SplitUrl {
  let relative = url.trim();
  if (relative.startsWith(fhirBase)) {
    relative = relative.slice(fhirBase.length);
  }
  relative = relative.replace(/^\/+/, '');
  const q = relative.indexOf('?');
  const path = q < 0 ? relative : relative.slice(0, q);
  return { segments: path.split('/').filter((s) => s !== '').map(decodeSegment), query: q < 0 ? undefined : relative.slice(q + 1) };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // Malformed percent-encoding: left as sent, and refused as an unknown type or an invalid id.
  }
}

function toAction(
  method: ParsedEntry['method'],
  { segments, query }: SplitUrl,
  resource: unknown,
  at: string,
  text: (name: keyof RawRequest) => string | undefined,
): EntryAction {
  const [type, id, history, versionId, ...rest] = segments;
  const urlError = (message: string) => badRequest(message, `${at}.request.url`);
  if (!type || rest.length > 0 || type.startsWith('$') || id?.startsWith('$') || (history !== undefined && (history !== '_history' || versionId === undefined))) {
    throw outcomeError(400, 'not-supported', `${method} ${segments.join('/')} is not an interaction entries support (type, type/id, type/id/_history/vid)`, `${at}.request.url`);
  }
  const ifMatch = text('ifMatch');
  const withMatch = ifMatch === undefined ? {} : { ifMatch };
  switch (method) {
    case 'GET':
    case 'HEAD': {
      const head = method === 'HEAD';
      if (id === undefined) return { kind: 'search', type, query: query ?? '', head };
      if (versionId !== undefined) return { kind: 'vread', type, id, versionId, head };
      const ifNoneMatch = text('ifNoneMatch');
      const ifModifiedSince = text('ifModifiedSince');
      return { kind: 'read', type, id, head, ...(ifNoneMatch === undefined ? {} : { ifNoneMatch }), ...(ifModifiedSince === undefined ? {} : { ifModifiedSince }) };
    }
    case 'POST': {
      if (id !== undefined || query !== undefined) throw urlError('A POST entry creates: its url is the resource type alone');
      const ifNoneExist = text('ifNoneExist');
      return { kind: 'create', type, resource: entryResource(resource, type, at), ...(ifNoneExist === undefined ? {} : { ifNoneExist }) };
    }
    case 'PUT': {
      if (history !== undefined) throw urlError('A PUT entry names type/id, or type?criteria');
      if (id === undefined) {
        if (query === undefined) throw urlError('A PUT entry names type/id, or type?criteria for a conditional update');
        return { kind: 'conditional-update', type, query, resource: entryResource(resource, type, at), ...withMatch };
      }
      return { kind: 'update', type, id, resource: entryResource(resource, type, at), ...withMatch };
    }
    case 'PATCH': {
      if (id === undefined || history !== undefined) {
        throw outcomeError(400, 'not-supported', 'A PATCH entry names type/id (conditional patch is not supported)', `${at}.request.url`);
      }
      return { kind: 'patch', type, id, operations: patchOperations(resource, at), ...withMatch };
    }
    case 'DELETE': {
      if (history !== undefined) throw urlError('A DELETE entry names type/id, or type?criteria');
      if (id === undefined) {
        if (query === undefined) throw urlError('A DELETE entry names type/id, or type?criteria for a conditional delete');
        return { kind: 'conditional-delete', type, query };
      }
      return { kind: 'delete', type, id, ...withMatch };
    }
  }
}

function entryResource(resource: unknown, type: string, at: string): Resource {
  if (!isObject(resource) || typeof resource.resourceType !== 'string') {
    throw badRequest('This entry needs a resource', `${at}.resource`);
  }
  if (resource.resourceType !== type) {
    throw badRequest(`resourceType "${resource.resourceType}" does not match the url's "${type}"`, `${at}.resource.resourceType`);
  }
  return resource as unknown as Resource;
}

/** A JSON Patch carried as a Binary (contentType application/json-patch+json, base64 data). */
function patchOperations(resource: unknown, at: string): unknown {
  if (!isObject(resource) || resource.resourceType !== 'Binary' || resource.contentType !== JSON_PATCH) {
    throw outcomeError(400, 'not-supported', `A PATCH entry carries a JSON Patch as a Binary with contentType ${JSON_PATCH} (FHIRPath Patch is not supported)`, `${at}.resource`);
  }
  if (typeof resource.data !== 'string') {
    throw badRequest('The Binary has no data (the base64 of the JSON Patch)', `${at}.resource.data`);
  }
  try {
    return parseJsonBody(Buffer.from(resource.data, 'base64'), PATCH_MAX_DEPTH);
  } catch {
    throw badRequest('The Binary data is not the base64 of a JSON Patch document', `${at}.resource.data`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
