/**
 * Parses a search's query parameters (https://hl7.org/fhir/R4/search.html) into a
 * SearchRequest: filters checked against the SearchParameter registry, and the result
 * parameters (_sort, _count, _total, _summary, _elements, paging cursor). Values are checked
 * by the compilers, which know each type's syntax.
 *
 * Unknown and unsupported parameters are an error unless the client sent
 * `Prefer: handling=lenient` (https://hl7.org/fhir/R4/search.html#errors), in which case they
 * are ignored and left out of the links. An unsupported modifier, or a malformed value, is
 * an error either way: ignoring `:not` would answer a different question.
 *
 * Chains and `_has` are parsed in parse-chain.ts, `_include`/`_revinclude` in parse-include.ts.
 * Both may name other resource types: `unreadable` lists those the caller may not read.
 */
import { badRequest } from '../outcomes.js';
import type { CompartmentFilter } from './compartment.js';
import { splitUnescaped } from './escaping.js';
import { isLinkedName, parseLinked, type LinkedFilter } from './parse-chain.js';
import { isIncludeName, parseInclude, type IncludeSpec } from './parse-include.js';
import { lookupParam, type SearchParam } from './search-params.js';
import { MEMBER_UNREADABLE } from './type-access.js';

export type Total = 'none' | 'estimate' | 'accurate';
export type Summary = 'true' | 'false' | 'text' | 'data' | 'count';

export interface SearchFilter {
  /** The parameter name as sent, modifier included (`code:not`): what errors point at. */
  name: string;
  param: SearchParam;
  modifier?: string;
  /** The comma-separated alternatives, any of which may match (OR), still escaped (see escaping.ts). */
  values: string[];
}

export interface SortKey {
  param: SearchParam;
  descending: boolean;
}

export interface SearchRequest {
  resourceType: string;
  /** All must match (AND): one per occurrence of a parameter. */
  filters: SearchFilter[];
  /** Chained parameters and `_has`, ANDed with the filters. */
  linked: LinkedFilter[];
  /** `_include` and `_revinclude`, applied to each page's matches. */
  includes: IncludeSpec[];
  /** Types the caller may not read: no chain, `_has`, include or compartment reaches them. */
  unreadable: readonly string[];
  /** Set by a compartment search (`Patient/123/Observation`): matches must be in it. */
  compartment?: CompartmentFilter;
  sort: SortKey[];
  count: number;
  total: Total;
  summary?: Summary;
  elements?: string[];
  cursor?: string;
  /** The parameters accepted, in order, without the cursor: the base of the Bundle's links. */
  linkParams: Array<[string, string]>;
}

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;

/** Defined by FHIR but not (yet) implemented here: refused, or ignored when lenient. */
const UNSUPPORTED = new Set(['_type', '_text', '_content', '_list', '_query', '_filter', '_contained', '_containedType']);
const RESULT_PARAMS = new Set(['_count', '_sort', '_total', '_summary', '_elements', '_cursor', '_format', '_pretty']);
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json']);

/**
 * `unreadable`: the types the caller may not read (the Repository passes the caller's); without
 * it, a non-admin member's, so a caller that forgets it is refused rather than let through.
 */
export function parseSearchRequest(
  resourceType: string,
  entries: Array<[string, string]>,
  lenient: boolean,
  unreadable: readonly string[] = MEMBER_UNREADABLE,
): SearchRequest {
  const request: SearchRequest = { resourceType, filters: [], linked: [], includes: [], unreadable, sort: [], count: DEFAULT_COUNT, total: 'none', linkParams: [] };
  const seen = new Set<string>();
  for (const [name, value] of entries) {
    if (name.includes('\u0000') || value.includes('\u0000')) {
      throw badRequest('Search parameters may not contain the NUL character', name.replace(/\u0000/g, ''));
    }
    if (RESULT_PARAMS.has(name)) {
      if (seen.has(name)) {
        throw badRequest(`${name} may be given once`, name);
      }
      seen.add(name);
      if (applyResultParam(request, name, value, lenient) && name !== '_cursor') {
        request.linkParams.push([name, value]);
      }
      continue;
    }
    if (value.trim() === '') {
      continue; // A parameter with an empty value says nothing; it is ignored.
    }
    if (isIncludeName(name)) {
      request.includes.push(parseInclude(name, value, unreadable));
      request.linkParams.push([name, value]);
      continue;
    }
    if (isLinkedName(name)) {
      const linked = parseLinked(resourceType, name, value, unreadable, (text, n) => refuse(lenient, text, n));
      if (linked) {
        request.linked.push(linked);
        request.linkParams.push([name, value]);
      }
      continue;
    }
    const filter = parseFilter(resourceType, name, value, lenient);
    if (filter) {
      request.filters.push(filter);
      request.linkParams.push([name, value]);
    }
  }
  return request;
}

function parseFilter(resourceType: string, name: string, value: string, lenient: boolean): SearchFilter | undefined {
  const colon = name.indexOf(':');
  const code = colon < 0 ? name : name.slice(0, colon);
  const modifier = colon < 0 ? undefined : name.slice(colon + 1);
  if (UNSUPPORTED.has(code)) {
    return refuse(lenient, `Search parameter "${name}" is not supported by this server`, name);
  }
  const { param, unsupportedType } = lookupParam(resourceType, code);
  if (!param) {
    const why = unsupportedType ? `is a ${unsupportedType} parameter, which this server does not search on` : `is not a search parameter of ${resourceType}`;
    return refuse(lenient, `"${code}" ${why}`, name);
  }
  const values = splitUnescaped(value, ',').filter((v) => v !== '');
  return values.length === 0 ? undefined : { name, param, modifier, values };
}

function refuse(lenient: boolean, text: string, name: string): undefined {
  if (lenient) {
    return undefined;
  }
  throw badRequest(`${text}. Send "Prefer: handling=lenient" to ignore unknown parameters.`, name);
}

/** Applies one result parameter; returns false when it was ignored (so it stays out of links). */
function applyResultParam(request: SearchRequest, name: string, value: string, lenient: boolean): boolean {
  switch (name) {
    case '_count':
      request.count = parseCount(value);
      return true;
    case '_sort':
      request.sort = parseSort(request.resourceType, value, lenient);
      return request.sort.length > 0;
    case '_total':
      request.total = oneOf<Total>(value, ['none', 'estimate', 'accurate'], name);
      return true;
    case '_summary':
      request.summary = oneOf<Summary>(value, ['true', 'false', 'text', 'data', 'count'], name);
      return true;
    case '_elements':
      request.elements = parseElements(value);
      return true;
    case '_cursor':
      request.cursor = value;
      return true;
    case '_format':
      if (!JSON_FORMATS.has(value)) {
        throw badRequest('This server answers in JSON only: _format must be json, application/json or application/fhir+json', name);
      }
      return true;
    default:
      return true; // _pretty: the server always answers compact JSON.
  }
}

function parseCount(value: string): number {
  if (!/^\d{1,9}$/.test(value)) {
    throw badRequest('_count must be a whole number, 0 or more', '_count');
  }
  // More than the maximum is not an error: the server may return fewer (https://hl7.org/fhir/R4/search.html#count).
  return Math.min(Number(value), MAX_COUNT);
}

function parseSort(resourceType: string, value: string, lenient: boolean): SortKey[] {
  const keys: SortKey[] = [];
  for (const raw of value.split(',')) {
    const descending = raw.startsWith('-');
    const code = descending ? raw.slice(1) : raw;
    const { param } = lookupParam(resourceType, code);
    if (!param) {
      refuse(lenient, `Cannot sort on "${code}": not a search parameter of ${resourceType} this server supports`, '_sort');
      continue;
    }
    keys.push({ param, descending });
  }
  return keys;
}

function parseElements(value: string): string[] {
  const names = value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  for (const n of names) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(n)) {
      throw badRequest(`_elements takes top-level element names; "${n}" is not one`, '_elements');
    }
  }
  return names;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw badRequest(`${name} must be one of ${allowed.join(', ')}`, name);
  }
  return value as T;
}
