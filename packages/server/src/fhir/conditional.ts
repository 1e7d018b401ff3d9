/**
 * Conditional create, update and delete (https://hl7.org/fhir/R4/http.html#ccreate,
 * #cond-update, #3.1.0.7.1): the criteria are a search on the type, run in the caller's
 * project with the caller's permissions, inside the transaction that writes.
 *
 * Conditional create and the create branch of conditional update hold a transaction-level
 * advisory lock keyed by (project, type, normalised criteria) while they search and write,
 * so two requests with the same criteria, on any server instance sharing the database, are
 * serialised and the second finds what the first made: concurrent conditional creates make
 * one resource (the lock: db/advisory-locks.ts; a hash collision only makes unrelated criteria
 * wait for each other). Writes that do not name the same criteria (a plain create of an identical
 * resource) are not serialised with them; nothing here claims otherwise.
 *
 * Conditional delete deletes every match, up to CONDITIONAL_DELETE_MAX; more is a 412.
 */
import type { Resource } from '@medplum/fhirtypes';
import { lockKeys } from '../db/advisory-locks.js';
import type { Random } from '../deps.js';
import { badRequest, OutcomeError, outcomeError } from './outcomes.js';
import type { Repository, WriteOptions, WriteResult } from './repository.js';

/** Search parameters as ordered name/value pairs (a repeated name is an AND). */
export type Criteria = Array<[string, string]>;

export interface ConditionalContext {
  /** `http://host/fhir/R4/`, with the trailing slash: absolute references in criteria. */
  fhirBase: string;
  /** Ids for what a conditional update creates. */
  random: Random;
}

/** The most resources one conditional delete removes; more matches refuse the whole delete. */
export const CONDITIONAL_DELETE_MAX = 100;

/**
 * Parameters that shape a result rather than select resources: meaningless (or harmful, as a
 * `_count` would hide a second match) in criteria.
 */
const RESULT_PARAMS = new Set(['_count', '_sort', '_total', '_summary', '_elements', '_cursor', '_include', '_revinclude', '_format', '_pretty', '_contained', '_containedType']);

/**
 * Reads criteria: `identifier=a|b`, or `Patient?identifier=a|b` as some clients send in
 * If-None-Exist. `where` names the field for errors (`If-None-Exist`, `request.url`).
 */
export function parseCriteria(resourceType: string, text: string, where: string): Criteria {
  let query = text.trim();
  const q = query.indexOf('?');
  if (q >= 0) {
    const named = query.slice(0, q).replace(/^\//, '');
    if (named !== '' && named !== resourceType) {
      throw badRequest(`The criteria search ${named}, not ${resourceType}`, where);
    }
    query = query.slice(q + 1);
  }
  const criteria = [...new URLSearchParams(query)] as Criteria;
  for (const [name] of criteria) {
    if (RESULT_PARAMS.has(name.split(':')[0] as string)) {
      throw badRequest(`${name} cannot be part of conditional criteria`, where);
    }
  }
  if (!criteria.some(([, value]) => value.trim() !== '')) {
    // Criteria that select nothing in particular would match every resource of the type.
    throw badRequest('Conditional criteria need at least one search parameter with a value', where);
  }
  return criteria;
}

/** The lock key: the same criteria in any order, or differently encoded, give the same key. */
export function criteriaKey(projectId: string, resourceType: string, criteria: Criteria): string {
  const sorted = [...criteria].sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1));
  return `${projectId}|${resourceType}|${new URLSearchParams(sorted).toString()}`;
}

/** The matches of the criteria, at most `limit`. Errors in the criteria point at `where`. */
export async function findMatches(repo: Repository, resourceType: string, criteria: Criteria, limit: number, ctx: ConditionalContext, where: string): Promise<Resource[]> {
  try {
    const result = await repo.search(resourceType, [...criteria, ['_count', String(limit)]], { lenient: false, fhirBase: ctx.fhirBase });
    return result.resources;
  } catch (err) {
    if (err instanceof OutcomeError && err.status === 400) {
      throw badRequest(`Conditional criteria: ${err.message}`, where);
    }
    throw err;
  }
}

/** The one match, or undefined for none; several are a 412 (https://hl7.org/fhir/R4/http.html#ccreate). */
export async function findOneMatch(repo: Repository, resourceType: string, criteria: Criteria, ctx: ConditionalContext, where: string): Promise<Resource | undefined> {
  const matches = await findMatches(repo, resourceType, criteria, 2, ctx, where);
  if (matches.length > 1) {
    throw outcomeError(412, 'multiple-matches', `More than one ${resourceType} matches ${new URLSearchParams(criteria).toString()}`, where);
  }
  return matches[0];
}

/** `If-None-Exist`: 0 matches creates (201), 1 returns it (200), more is 412. */
export async function conditionalCreate<T extends Resource>(repo: Repository, resource: T, ifNoneExist: string, ctx: ConditionalContext): Promise<WriteResult<T>> {
  const criteria = parseCriteria(resource.resourceType, ifNoneExist, 'If-None-Exist');
  return repo.inTransaction(async (r, tx) => {
    await lockKeys(tx, [criteriaKey(r.ctx.projectId, resource.resourceType, criteria)]);
    const existing = await findOneMatch(r, resource.resourceType, criteria, ctx, 'If-None-Exist');
    return existing ? { resource: existing as T, created: false } : r.create(resource);
  });
}

/**
 * Which id a conditional update writes (https://hl7.org/fhir/R4/http.html#cond-update):
 * the one match's; with none, the body's id if no current resource has it (R5 made explicit
 * that an existing one is a 409, rather than an update of a resource the criteria did not
 * find), else a new id. Several matches are a 412. Call it under the criteria's lock.
 */
export async function resolveUpdateTarget(repo: Repository, resourceType: string, criteria: Criteria, resource: Resource, ctx: ConditionalContext, where: string): Promise<string> {
  const match = await findOneMatch(repo, resourceType, criteria, ctx, where);
  if (match) {
    if (resource.id !== undefined && resource.id !== match.id) {
      throw badRequest(`id "${resource.id}" is not the id of the ${resourceType} the criteria match (${match.id})`, 'id');
    }
    return match.id as string;
  }
  if (resource.id === undefined) {
    return ctx.random.uuid();
  }
  if (await isCurrent(repo, resourceType, resource.id)) {
    throw outcomeError(409, 'conflict', `${resourceType}/${resource.id} exists but does not match the criteria`, 'id');
  }
  return resource.id;
}

/** `PUT [type]?criteria`: 0 matches creates (201), 1 updates it (200), more is 412. */
export async function conditionalUpdate<T extends Resource>(
  repo: Repository,
  resourceType: string,
  query: string,
  resource: T,
  options: WriteOptions,
  ctx: ConditionalContext,
): Promise<WriteResult<T>> {
  const criteria = parseCriteria(resourceType, query, 'url');
  return repo.inTransaction(async (r, tx) => {
    await lockKeys(tx, [criteriaKey(r.ctx.projectId, resourceType, criteria)]);
    const id = await resolveUpdateTarget(r, resourceType, criteria, resource, ctx, 'url');
    return r.update(resourceType, id, { ...resource, id }, options);
  });
}

/** `DELETE [type]?criteria`: deletes every match (none is fine), refusing more than CONDITIONAL_DELETE_MAX with 412. */
export async function conditionalDelete(repo: Repository, resourceType: string, query: string, ctx: ConditionalContext, where = 'url'): Promise<string[]> {
  const criteria = parseCriteria(resourceType, query, where);
  return repo.inTransaction(async (r) => {
    const matches = await findMatches(r, resourceType, criteria, CONDITIONAL_DELETE_MAX + 1, ctx, where);
    if (matches.length > CONDITIONAL_DELETE_MAX) {
      throw outcomeError(412, 'too-costly', `More than ${CONDITIONAL_DELETE_MAX} ${resourceType} match; a conditional delete removes at most ${CONDITIONAL_DELETE_MAX}`, where);
    }
    for (const match of matches) {
      await r.delete(resourceType, match.id as string);
    }
    return matches.map((m) => m.id as string);
  });
}

async function isCurrent(repo: Repository, resourceType: string, id: string): Promise<boolean> {
  try {
    await repo.read(resourceType, id);
    return true;
  } catch (err) {
    if (err instanceof OutcomeError && (err.status === 404 || err.status === 410)) {
      return false;
    }
    throw err;
  }
}
