/**
 * The Repository: what routes and services use to read and write resources. Bound to one
 * `RequestContext`, it adds to the raw store the type rules, validation, server-assigned
 * `meta`, version checks and the redaction of secrets. Reads that find nothing in the
 * caller's project answer 404 whether the id exists elsewhere or not.
 *
 * It also enforces the caller's access policy (src/fhir/access-policy/, docs/ARCHITECTURE.md
 * "Access policies"): the policy's SQL predicate goes into every search, chain, include and
 * history query; a read outside it is the 404 of a random id; a write must be allowed on the
 * stored state before it and on the written state after it (checked in the writing
 * transaction, which a refusal rolls back), and so must the write constraints of an entry that
 * allows it (write-constraint.ts); hidden fields leave no output, and readonly fields keep
 * their stored value. An AccessPolicy is validated on every write path, PATCH included.
 */
import type { AccessPolicy, ProjectMembership, Resource } from '@medplum/fhirtypes';
import type { RequestContext } from '../auth/request-context.js';
import type { Database, Queryable } from '../db/database.js';
import { joinTransaction } from '../db/joined-transaction.js';
import type { Clock, Random } from '../deps.js';
import { isKnownResourceType } from './definitions.js';
import { assertValidId } from './ids.js';
import { applyJsonPatch } from './json-patch.js';
import { badRequest, forbidden, gone, notFound, preconditionFailed } from './outcomes.js';
import { assertTypeAllowed, unreadableTypes } from './protected-types.js';
import { accessKind, assertScopesAllow, type FhirInteraction } from '../auth/smart-scopes.js';
import { ResourceStore, type HistoryQuery, type StoredVersion, type WriteMethod } from './resource-store.js';
import { projectScope, type Scope } from './scope.js';
import { compartmentFilter } from './search/compartment.js';
import { executeEverything, parseEverythingRequest, type EverythingPage, type EverythingRequest } from './search/everything.js';
import { executeSearch, type SearchResult } from './search/execute-search.js';
import { MAX_COUNT, parseSearchRequest } from './search/parse.js';
import { unreadableInSearch } from './search/type-access.js';
import { writeResource } from './write-resource.js';
import { assertSearchAvoidsHidden, fieldRules, keepProtectedFields } from './access-policy/fields.js';
import { typeAccess, type PolicyInteraction } from './access-policy/member-policy.js';
import { versionAllowed } from './access-policy/match-version.js';
import { PolicyGuard } from './access-policy/policy-guard.js';
import { assertMembershipsProvide, assertValidPolicy } from './access-policy/validate-policy.js';
import { restrictionOf } from './search/execute-search.js';
import { assertProfileNotInUse } from '../admin/guard-rails.js';

export interface RepositoryDeps {
  db: Database;
  store: ResourceStore;
  clock: Clock;
  random: Random;
}

export interface WriteOptions {
  /** The version the client last saw (`If-Match`); a different current version gives 412. */
  ifMatch?: string;
}

export interface CreateOptions {
  /**
   * An id the server chose beforehand (a transaction Bundle assigns ids up front so its
   * entries can refer to each other). Never a client's: `create` ignores the body's id.
   */
  id?: string;
}

export interface WriteResult<T extends Resource = Resource> {
  resource: T;
  /** True when the write created the resource (201), false when it changed one (200). */
  created: boolean;
}

export class Repository {
  private readonly scope: Scope;
  /** The caller's access policy checks (src/fhir/access-policy/policy-guard.ts). */
  private readonly guard: PolicyGuard;
  /** Set on a Repository made by `inTransaction`: the transaction all its work joins. */
  private tx: Queryable | undefined;

  constructor(
    readonly ctx: RequestContext,
    private readonly deps: RepositoryDeps,
  ) {
    this.scope = projectScope(ctx.projectId);
    this.guard = new PolicyGuard(ctx, this.scope, () => this.deps.store, deps.clock);
  }

  /**
   * Runs `fn` with a Repository for the same caller whose every read, search and write goes
   * through one database transaction (src/db/joined-transaction.ts), committed when `fn`
   * resolves. Used by transaction Bundles and conditional writes (src/fhir/bundle/,
   * src/fhir/conditional.ts). Called on such a Repository, it joins the same transaction.
   */
  async inTransaction<T>(fn: (repo: Repository, tx: Queryable) => Promise<T>): Promise<T> {
    if (this.tx) {
      return fn(this, this.tx);
    }
    return this.deps.db.transaction((tx) => fn(this.joined(tx), tx));
  }

  /** This caller's Repository inside the open transaction `tx` (itself when it already is). */
  private joined(tx: Queryable): Repository {
    if (this.tx === tx) {
      return this;
    }
    const db = joinTransaction(tx, this.deps.db.kind);
    const repo = new Repository(this.ctx, { ...this.deps, db, store: new ResourceStore(db) });
    repo.tx = tx;
    return repo;
  }

  async create<T extends Resource>(resource: T, options: CreateOptions = {}): Promise<WriteResult<T>> {
    this.checkType(resource.resourceType, 'create');
    // A client's id on create is ignored (https://hl7.org/fhir/R4/http.html#create).
    const id = options.id === undefined ? this.deps.random.uuid() : assertValidId(options.id);
    const incoming = keepProtectedFields(resource, undefined, fieldRules(this.ctx, resource.resourceType));
    return this.deps.db.transaction(async (tx) => {
      const constrained = await this.guard.constraintCandidates(tx, resource.resourceType, id, 'create', undefined);
      const written = await this.write(tx, { ...incoming, id }, undefined, 'POST');
      await this.guard.assertAfterWrite(tx, resource.resourceType, id, 'create');
      await this.guard.assertWriteConstraints(tx, resource.resourceType, id, 'create', constrained, undefined, written);
      return { resource: this.guard.output(written) as T, created: true };
    });
  }

  async read(resourceType: string, id: string): Promise<Resource> {
    this.checkType(resourceType, 'read');
    const current = await this.deps.store.readCurrent(this.scope, resourceType, assertValidId(id));
    if (current && !(await this.guard.reaches(this.deps.db, resourceType, id, 'read'))) {
      throw notFound(`${resourceType}/${id} not found`); // Exactly a random id's answer: existence does not leak.
    }
    return this.present(resourceType, id, current);
  }

  async vread(resourceType: string, id: string, versionId: string): Promise<Resource> {
    this.checkType(resourceType, 'read', 'vread');
    assertValidId(id);
    const found = isUuid(versionId) ? await this.deps.store.readVersion(this.scope, resourceType, id, versionId) : undefined;
    // Under a policy, a version is seen when the current version is reachable and its own content is allowed (match-version.ts).
    const version = found && (await this.guard.reaches(this.deps.db, resourceType, id, 'vread')) && versionAllowed(this.ctx, resourceType, found.resource, 'vread') ? found : undefined;
    if (!version) {
      throw notFound(`${resourceType}/${id}/_history/${versionId} not found`);
    }
    if (version.deleted || !version.resource) {
      throw gone(`${resourceType}/${id} was deleted in version ${versionId}`);
    }
    return this.guard.output(version.resource);
  }

  async update<T extends Resource>(resourceType: string, id: string, resource: T, options: WriteOptions = {}): Promise<WriteResult<T>> {
    this.checkType(resourceType, 'update');
    assertValidId(id);
    if (resource.resourceType !== resourceType) {
      throw badRequest(`resourceType "${resource.resourceType}" does not match the URL's "${resourceType}"`, 'resourceType');
    }
    if (resource.id !== id) {
      throw badRequest(resource.id === undefined ? 'The resource must carry its id' : `id "${resource.id}" does not match the URL's "${id}"`, 'id');
    }
    if (resource.resourceType === 'AccessPolicy') {
      await this.assertPolicyUsable(resource as Resource as AccessPolicy & { id: string });
    }
    return this.deps.db.transaction(async (tx) => {
      const current = await this.deps.store.lockCurrent(this.scope, tx, resourceType, id);
      const stored = current && !current.deleted ? current.resource : undefined;
      if (stored) {
        await this.guard.assertBeforeWrite(tx, resourceType, id, 'update');
      }
      checkVersion(current, options.ifMatch);
      const constrained = await this.guard.constraintCandidates(tx, resourceType, id, 'update', stored);
      const incoming = keepProtectedFields(resource, stored, fieldRules(this.ctx, resourceType));
      const written = await this.write(tx, incoming, current, 'PUT');
      await this.guard.assertAfterWrite(tx, resourceType, id, 'update');
      await this.guard.assertWriteConstraints(tx, resourceType, id, 'update', constrained, stored, written);
      return { resource: this.guard.output(written) as T, created: !current || current.deleted };
    });
  }

  async patch(resourceType: string, id: string, operations: unknown, options: WriteOptions = {}): Promise<Resource> {
    this.checkType(resourceType, 'update');
    assertValidId(id);
    return this.deps.db.transaction(async (tx) => {
      const current = await this.deps.store.lockCurrent(this.scope, tx, resourceType, id);
      if (!current) {
        throw notFound(`${resourceType}/${id} not found`);
      }
      if (current.deleted || !current.resource) {
        throw gone(`${resourceType}/${id} was deleted`);
      }
      await this.guard.assertBeforeWrite(tx, resourceType, id, 'update');
      checkVersion(current, options.ifMatch);
      // The patch applies to what the member sees; what it may not see or change keeps its stored value.
      const patched = applyJsonPatch(this.guard.output(current.resource), operations);
      if (patched.resourceType !== resourceType || patched.id !== id) {
        throw badRequest('A patch cannot change resourceType or id', patched.resourceType !== resourceType ? 'resourceType' : 'id');
      }
      const incoming = keepProtectedFields(patched, current.resource, fieldRules(this.ctx, resourceType));
      if (incoming.resourceType === 'AccessPolicy') {
        // The same checks as a PUT, on the patched policy (the membership search joins this transaction).
        await this.joined(tx).assertPolicyUsable(incoming as AccessPolicy & { id: string });
      }
      const constrained = await this.guard.constraintCandidates(tx, resourceType, id, 'update', current.resource);
      const written = await this.write(tx, incoming, current, 'PATCH');
      await this.guard.assertAfterWrite(tx, resourceType, id, 'update');
      await this.guard.assertWriteConstraints(tx, resourceType, id, 'update', constrained, current.resource, written);
      return this.guard.output(written);
    });
  }

  async delete(resourceType: string, id: string, options: WriteOptions = {}): Promise<void> {
    this.checkType(resourceType, 'delete');
    assertValidId(id);
    await this.deps.db.transaction(async (tx) => {
      const current = await this.deps.store.lockCurrent(this.scope, tx, resourceType, id);
      if (!current || !current.resource) {
        throw notFound(`${resourceType}/${id} not found`);
      }
      if (!current.deleted) {
        await this.guard.assertBeforeWrite(tx, resourceType, id, 'delete');
      } else if (typeAccess(this.ctx, resourceType, 'delete').kind !== 'all') {
        throw notFound(`${resourceType}/${id} not found`); // Criteria cannot be checked on a deleted resource: not reachable.
      }
      checkVersion(current, options.ifMatch);
      if (current.deleted) {
        return; // Deleting twice changes nothing (https://hl7.org/fhir/R4/http.html#delete).
      }
      await assertProfileNotInUse(this.deps.store, this.scope, tx, resourceType, id);
      await this.deps.store.writeVersion(this.scope, tx, {
        resourceType,
        id,
        versionId: this.deps.random.uuid(),
        lastUpdated: this.deps.clock.now(),
        resource: current.resource,
        deleted: true,
        method: 'DELETE',
      });
      // A deleted resource matches no search: its index rows go with it.
      await this.deps.store.deleteSearchIndex(this.scope, tx, resourceType, id);
    });
  }

  /** History newest first; `resourceType` and `id` narrow it to a type or an instance. */
  async history(query: HistoryQuery): Promise<StoredVersion[]> {
    if (query.resourceType !== undefined) {
      this.checkType(query.resourceType, query.id === undefined ? 'search' : 'read', 'history');
    } else {
      assertScopesAllow(this.ctx, '*', 'search');
    }
    if (query.id !== undefined) {
      assertValidId(query.id);
    }
    // System history leaves out, in the query itself, the types the caller could not read one by one.
    const excludeTypes = query.resourceType === undefined ? unreadableTypes(this.ctx) : undefined;
    const restrict = this.guard.historyRestriction(query.resourceType);
    if (!this.ctx.policy) {
      const versions = await this.deps.store.history(this.scope, { ...query, excludeTypes });
      return versions.map((v) => ({ ...v, resource: v.resource && this.guard.output(v.resource) }));
    }
    // Under a policy each version's content is checked too (match-version.ts); a page is
    // filled by reading on from the last version seen, so paging stays exact. The SQL already
    // keeps only resources whose current version is reachable: what is read and dropped here
    // are older versions of those, so the loop is bounded by their number.
    const kept: StoredVersion[] = [];
    const batchSize = Math.max(query.limit, HISTORY_BATCH);
    let beforeSeq = query.beforeSeq;
    while (kept.length < query.limit) {
      const batch = await this.deps.store.history(this.scope, { ...query, limit: batchSize, beforeSeq, excludeTypes, restrict });
      kept.push(...batch.filter((v) => versionAllowed(this.ctx, v.resourceType, v.resource, 'history')));
      const last = batch[batch.length - 1];
      if (batch.length < batchSize || !last?.seq) break;
      beforeSeq = last.seq;
    }
    return kept.slice(0, query.limit).map((v) => ({ ...v, resource: v.resource && this.guard.output(v.resource) }));
  }

  /**
   * Searches one type in the caller's project (https://hl7.org/fhir/R4/search.html; the
   * parsing, SQL and paging are in ./search/). Needs read access to the type, as a read does;
   * chains, `_has` and includes reach only types the caller may search too. `compartment`
   * (a Patient id) makes it a compartment search, `Patient/{id}/{type}`: 404 like a read when
   * that Patient is not in the project.
   */
  async search(resourceType: string, entries: Array<[string, string]>, options: { lenient: boolean; fhirBase: string; compartment?: string }): Promise<SearchResult> {
    this.checkType(resourceType, 'search');
    const request = parseSearchRequest(resourceType, entries, options.lenient, unreadableInSearch(this.ctx));
    assertSearchAvoidsHidden(this.ctx, request);
    if (options.compartment !== undefined) {
      request.compartment = compartmentFilter(resourceType, options.compartment);
      await this.read('Patient', options.compartment);
    }
    const result = await executeSearch(this.deps.store, this.scope, request, this.guard.compileContext('search', options.fhirBase));
    return { ...result, resources: result.resources.map((r) => this.guard.output(r)), included: result.included.map((r) => this.guard.output(r)) };
  }

  /** `Patient/{id}/$everything` (./search/everything.ts): the patient, read like a read, and its compartment. */
  async everything(patientId: string, entries: Array<[string, string]>, options: { lenient: boolean }): Promise<{ request: EverythingRequest; page: EverythingPage }> {
    const patient = await this.read('Patient', patientId);
    const request = parseEverythingRequest(entries, options.lenient, unreadableInSearch(this.ctx));
    const page = await executeEverything(this.deps.store, this.scope, patient, request, restrictionOf(this.guard.compileContext('search', '')));
    return { request, page: { ...page, resources: page.resources.map((r) => this.guard.output(r)), included: page.included.map((r) => this.guard.output(r)) } };
  }

  /**
   * The type-level rules, in order: a known type, the role's (protected-types.ts), the access
   * policy's (an interaction no entry grants on the type is a 403; `policyInteraction` names
   * vread and history apart from read and search), and the token's SMART scopes, which only narrow.
   */
  private checkType(resourceType: string, interaction: FhirInteraction, policyInteraction: PolicyInteraction = interaction): string {
    if (!isKnownResourceType(resourceType)) {
      throw notFound(`Unknown resource type "${resourceType}"`);
    }
    assertTypeAllowed(this.ctx, resourceType, accessKind(interaction));
    if (typeAccess(this.ctx, resourceType, policyInteraction).kind === 'none') {
      throw forbidden(`Your access policy does not allow ${policyInteraction} on ${resourceType}`);
    }
    assertScopesAllow(this.ctx, resourceType, interaction);
    return resourceType;
  }

  /** A policy being saved: well-formed, and every membership using it can fill its placeholders (validate-policy.ts). */
  private async assertPolicyUsable(policy: AccessPolicy & { id: string }): Promise<void> {
    assertValidPolicy(policy);
    const { resources } = await this.search('ProjectMembership', [['access-policy', `AccessPolicy/${policy.id}`], ['_count', String(MAX_COUNT)]], { lenient: false, fhirBase: '' });
    assertMembershipsProvide(policy, resources as ProjectMembership[]);
  }

  private present(resourceType: string, id: string, current: StoredVersion | undefined): Resource {
    if (!current) {
      throw notFound(`${resourceType}/${id} not found`);
    }
    if (current.deleted || !current.resource) {
      throw gone(`${resourceType}/${id} was deleted`);
    }
    return this.guard.output(current.resource);
  }

  /** Writes a version; returns it as stored (hidden fields and secrets included): the caller presents it through `guard.output`. */
  private async write(tx: Queryable, resource: Resource, current: StoredVersion | undefined, method: WriteMethod): Promise<Resource> {
    if (resource.resourceType === 'AccessPolicy') {
      assertValidPolicy(resource as AccessPolicy);
    }
    return writeResource(this.deps, this.scope, tx, resource, current, method);
  }

}

/** History under a policy reads versions in batches of at least this many to fill a page. */
const HISTORY_BATCH = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** `W/"v"`, `"v"` or `v` (https://hl7.org/fhir/R4/http.html#concurrency). */
export function parseETag(value: string): string {
  return value.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

function checkVersion(current: StoredVersion | undefined, ifMatch: string | undefined): void {
  if (ifMatch === undefined) {
    return;
  }
  const expected = parseETag(ifMatch);
  if (!current || current.versionId !== expected) {
    throw preconditionFailed(`If-Match ${ifMatch} does not match the current version${current ? ` W/"${current.versionId}"` : ''}`);
  }
}
