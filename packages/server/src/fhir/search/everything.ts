/**
 * `GET [base]/Patient/{id}/$everything` (https://hl7.org/fhir/R4/patient-operation-everything.html):
 * a searchset Bundle of the patient and every resource in its compartment (compartment.ts),
 * paged by `_count` with opaque cursor links, narrowed by `_since` (changed at or after an
 * instant) and `_type` (some types only). Each page also carries, as `search.mode = include`,
 * the Practitioners, Organizations, Locations, Medications and the like its resources refer
 * to (REFERENCED_TYPES: types outside the compartment, so nothing in it appears twice).
 * `start` and `end` (care dates) are not supported.
 *
 * One statement per page: the compartment is a join of (type, parameter) pairs on the
 * reference index towards Patient/{id}, read back by primary key (include-sql.ts's
 * selectRelated) in (type, id) order for keyset paging. Types the caller may not read are
 * left out of the pairs; the store runs it in the caller's project.
 */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { knownResourceTypes } from '../definitions.js';
import { badRequest } from '../outcomes.js';
import type { ResourceStore } from '../resource-store.js';
import type { Scope } from '../scope.js';
import { searchEntry, truncatedIncludes } from './bundle.js';
import { patientCompartment } from './compartment.js';
import { fetchIncludes } from './include.js';
import { selectRelated, type ProjectQuery, type RowRestriction } from './include-sql.js';
import type { IncludeSpec } from './parse-include.js';
import { MAX_COUNT } from './parse.js';
import { SqlParams } from './sql.js';

/** Referenced from compartment resources but not in the compartment themselves. */
export const REFERENCED_TYPES = ['Practitioner', 'PractitionerRole', 'Organization', 'Location', 'Medication', 'Device', 'Substance'];

export interface EverythingRequest {
  count: number;
  since?: Date;
  /** `_type`: only these types (the patient itself only if Patient is one). */
  types?: string[];
  cursor?: { type: string; id: string };
  /** The cursor as the client sent it, for the `self` link. */
  cursorText?: string;
  unreadable: readonly string[];
  linkParams: Array<[string, string]>;
}

const PARAMS = new Set(['_count', '_since', '_type', '_cursor', '_format', '_pretty']);

export function parseEverythingRequest(entries: Array<[string, string]>, lenient: boolean, unreadable: readonly string[]): EverythingRequest {
  const request: EverythingRequest = { count: MAX_COUNT, unreadable, linkParams: [] };
  const seen = new Set<string>();
  for (const [name, value] of entries) {
    if (!PARAMS.has(name)) {
      if (!lenient) throw badRequest(`$everything does not support "${name}". Send "Prefer: handling=lenient" to ignore it.`, name);
      continue;
    }
    if (seen.has(name)) throw badRequest(`${name} may be given once`, name);
    seen.add(name);
    if (name === '_count') request.count = parseCount(value);
    if (name === '_since') request.since = parseInstant(value);
    if (name === '_type') request.types = parseTypes(value);
    if (name === '_cursor') {
      request.cursor = decodeEverythingCursor(value);
      request.cursorText = value;
    }
    if (name !== '_cursor') request.linkParams.push([name, value]);
  }
  return request;
}

export interface EverythingPage {
  resources: Resource[];
  included: Resource[];
  includesTruncated: boolean;
  next?: string;
}

/** `restrict`: the caller's access policy on the compartment's rows and the referenced ones (policy-sql.ts). */
export async function executeEverything(store: ResourceStore, scope: Scope, patient: Resource, request: EverythingRequest, restrict?: RowRestriction): Promise<EverythingPage> {
  const withPatient = request.cursor === undefined && wanted(request, 'Patient') && (!request.since || new Date(patient.meta?.lastUpdated ?? 0) >= request.since);
  const limit = request.count - (withPatient ? 1 : 0);
  const rows = limit <= 0 ? [] : await store.searchRelated(scope, buildEverythingQuery(patient.id as string, request, limit + 1, restrict));
  const page = rows.slice(0, limit).map((r) => r.resource as Resource);
  const resources = request.count === 0 ? [] : [...(withPatient ? [patient] : []), ...page];
  const last = page[page.length - 1];
  const next = rows.length > limit && last ? encodeEverythingCursor(last) : undefined;
  const referenced: IncludeSpec[] = [{ reverse: false, iterate: false }];
  const unreadable = [...request.unreadable, ...[...knownResourceTypes()].filter((t) => !REFERENCED_TYPES.includes(t))];
  const includes = resources.length > 0 ? await fetchIncludes(store, scope, referenced, resources, unreadable, restrict) : { resources: [], truncated: false };
  return { resources, included: includes.resources, includesTruncated: includes.truncated, ...(next ? { next } : {}) };
}

export function buildEverythingQuery(patientId: string, request: EverythingRequest, limit: number, restrict?: RowRestriction): ProjectQuery {
  const params = new SqlParams(1);
  const pairs = [...patientCompartment()].filter(([type]) => wanted(request, type) && !request.unreadable.includes(type)).flatMap(([type, codes]) => codes.map((code) => [type, code] as const));
  const id = params.add(patientId, 'text');
  const inCompartment = `SELECT DISTINCT s.resource_type, s.resource_id
    FROM unnest(${params.add(pairs.map((p) => p[0]), 'text[]')}, ${params.add(pairs.map((p) => p[1]), 'text[]')}) AS p(source_type, code)
    JOIN search_reference s ON s.project_id = $1 AND s.resource_type = p.source_type AND s.code = p.code
    WHERE s.target_id = ${id} AND s.target_type = 'Patient'`;
  const conditions = [`NOT (r.resource_type = 'Patient' AND r.id = ${id})`];
  if (request.since) conditions.push(`r.last_updated >= ${params.add(request.since, 'timestamptz')}`);
  if (request.cursor) conditions.push(`(r.resource_type, r.id) > (${params.add(request.cursor.type, 'text')}, ${params.add(request.cursor.id, 'text')})`);
  const restricted = restrict?.(params, 'r');
  if (restricted !== undefined) conditions.push(restricted);
  return { sql: selectRelated(inCompartment, conditions, params.add(limit, 'integer')), params: params.values };
}

export function buildEverythingBundle(fhirBase: string, patientId: string, request: EverythingRequest, page: EverythingPage): Bundle {
  const url = (cursor?: string): string => {
    const query = new URLSearchParams(request.linkParams);
    if (cursor !== undefined) query.set('_cursor', cursor);
    const text = query.toString();
    return `${fhirBase}Patient/${patientId}/$everything${text ? `?${text}` : ''}`;
  };
  const links = [
    { relation: 'self', url: url(request.cursorText) },
    { relation: 'first', url: url() },
    ...(page.next ? [{ relation: 'next', url: url(page.next) }] : []),
  ];
  const entry: BundleEntry[] = [
    ...page.resources.map((r) => searchEntry(fhirBase, r, 'match')),
    ...page.included.map((r) => searchEntry(fhirBase, r, 'include')),
    ...(page.includesTruncated ? [truncatedIncludes()] : []),
  ];
  // The first page holding everything knows the total without counting.
  const complete = request.cursor === undefined && page.next === undefined && request.count > 0;
  return { resourceType: 'Bundle', type: 'searchset', ...(complete ? { total: page.resources.length } : {}), link: links, entry };
}

function wanted(request: EverythingRequest, type: string): boolean {
  return request.types === undefined || request.types.includes(type);
}

function parseCount(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw badRequest('_count must be a whole number, 0 or more', '_count');
  return Math.min(Number(value), MAX_COUNT);
}

function parseInstant(value: string): Date {
  const valid = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  const date = new Date(value);
  if (!valid || Number.isNaN(date.getTime())) throw badRequest('_since must be an instant, e.g. 2026-01-31T12:00:00Z', '_since');
  return date;
}

function parseTypes(value: string): string[] {
  const types = value.split(',').filter((t) => t !== '');
  for (const type of types) {
    if (type !== 'Patient' && !patientCompartment().has(type)) {
      throw badRequest(`_type: ${type} is not in the Patient compartment`, '_type');
    }
  }
  return types;
}

function encodeEverythingCursor(last: Resource): string {
  return Buffer.from(JSON.stringify(['e', last.resourceType, last.id])).toString('base64url');
}

function decodeEverythingCursor(raw: string): { type: string; id: string } {
  try {
    const [tag, type, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown[];
    if (tag === 'e' && typeof type === 'string' && typeof id === 'string' && /^[A-Za-z]{1,64}$/.test(type) && /^[A-Za-z0-9\-.]{1,64}$/.test(id)) {
      return { type, id };
    }
  } catch {
    // Falls through to the error below.
  }
  throw badRequest('_cursor is not one this server made for $everything', '_cursor');
}
