/**
 * The Repository: what routes and services use to read and write resources. Bound to one
 * `RequestContext`, it adds to the raw store the type rules, validation, server-assigned
 * `meta`, version checks and the redaction of secrets. Reads that find nothing in the
 * caller's project answer 404 whether the id exists elsewhere or not.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { RequestContext } from '../auth/request-context.js';
import type { Database, Queryable } from '../db/database.js';
import { joinTransaction } from '../db/joined-transaction.js';
import type { Clock, Random } from '../deps.js';
import { isKnownResourceType } from './definitions.js';
import { assertValidId } from './ids.js';
import { applyJsonPatch } from './json-patch.js';
import { badRequest, gone, notFound, preconditionFailed } from './outcomes.js';
import { assertTypeAllowed, redactSecrets, unreadableTypes } from './protected-types.js';
import { accessKind, assertScopesAllow, type FhirInteraction } from '../auth/smart-scopes.js';
import { ResourceStore, type HistoryQuery, type StoredVersion, type WriteMethod } from './resource-store.js';
import { projectScope, type Scope } from './scope.js';
import { compartmentFilter } from './search/compartment.js';
import { executeEverything, parseEverythingRequest, type EverythingPage, type EverythingRequest } from './search/everything.js';
import { executeSearch, type SearchResult } from './search/execute-search.js';
import { parseSearchRequest } from './search/parse.js';
import { unreadableInSearch } from './search/type-access.js';
import { writeResource } from './write-resource.js';
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
  /** Set on a Repository made by `inTransaction`: the transaction all its work joins. */
  private tx: Queryable | undefined;

  constructor(
    readonly ctx: RequestContext,
    private readonly deps: RepositoryDeps,
  ) {
    this.scope = projectScope(ctx.projectId);
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
    return this.deps.db.transaction((tx) => {
      const db = joinTransaction(tx, this.deps.db.kind);
      const repo = new Repository(this.ctx, { ...this.deps, db, store: new ResourceStore(db) });
      repo.tx = tx;
      return fn(repo, tx);
    });
  }

  async create<T extends Resource>(resource: T, options: CreateOptions = {}): Promise<WriteResult<T>> {
    this.checkType(resource.resourceType, 'create');
    // A client's id on create is ignored (https://hl7.org/fhir/R4/http.html#create).
    const id = options.id === undefined ? this.deps.random.uuid() : assertValidId(options.id);
    return this.deps.db.transaction(async (tx) => {
      const written = await this.write(tx, { ...resource, id }, undefined, 'POST');
      return { resource: written as T, created: true };
    });
  }

  async read(resourceType: string, id: string): Promise<Resource> {
    this.checkType(resourceType, 'read');
    const current = await this.deps.store.readCurrent(this.scope, resourceType, assertValidId(id));
    return this.present(resourceType, id, current);
  }

  async vread(resourceType: string, id: string, versionId: string): Promise<Resource> {
    this.checkType(resourceType, 'read');
    assertValidId(id);
    const version = isUuid(versionId) ? await this.deps.store.readVersion(this.scope, resourceType, id, versionId) : undefined;
    if (!version) {
      throw notFound(`${resourceType}/${id}/_history/${versionId} not found`);
    }
    if (version.deleted || !version.resource) {
      throw gone(`${resourceType}/${id} was deleted in version ${versionId}`);
    }
    return redactSecrets(version.resource);
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
    return this.deps.db.transaction(async (tx) => {
      const current = await this.deps.store.lockCurrent(this.scope, tx, resourceType, id);
      checkVersion(current, options.ifMatch);
      const written = await this.write(tx, resource, current, 'PUT');
      return { resource: written as T, created: !current || current.deleted };
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
      checkVersion(current, options.ifMatch);
      const patched = applyJsonPatch(redactSecrets(current.resource), operations);
      if (patched.resourceType !== resourceType || patched.id !== id) {
        throw badRequest('A patch cannot change resourceType or id', patched.resourceType !== resourceType ? 'resourceType' : 'id');
      }
      return this.write(tx, patched, current, 'PATCH');
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
      this.checkType(query.resourceType, query.id === undefined ? 'search' : 'read');
    } else {
      assertScopesAllow(this.ctx, '*', 'search');
    }
    if (query.id !== undefined) {
      assertValidId(query.id);
    }
    // System history leaves out, in the query itself, the types the caller could not read one by one.
    const excludeTypes = query.resourceType === undefined ? unreadableTypes(this.ctx) : undefined;
    const versions = await this.deps.store.history(this.scope, { ...query, excludeTypes });
    return versions.map((v) => ({ ...v, resource: v.resource && redactSecrets(v.resource) }));
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
    if (options.compartment !== undefined) {
      request.compartment = compartmentFilter(resourceType, options.compartment);
      await this.read('Patient', options.compartment);
    }
    const result = await executeSearch(this.deps.store, this.scope, request, { fhirBase: options.fhirBase, now: this.deps.clock.now() });
    return { ...result, resources: result.resources.map(redactSecrets), included: result.included.map(redactSecrets) };
  }

  /** `Patient/{id}/$everything` (./search/everything.ts): the patient, read like a read, and its compartment. */
  async everything(patientId: string, entries: Array<[string, string]>, options: { lenient: boolean }): Promise<{ request: EverythingRequest; page: EverythingPage }> {
    const patient = await this.read('Patient', patientId);
    const request = parseEverythingRequest(entries, options.lenient, unreadableInSearch(this.ctx));
    const page = await executeEverything(this.deps.store, this.scope, patient, request);
    return { request, page: { ...page, resources: page.resources.map(redactSecrets), included: page.included.map(redactSecrets) } };
  }

  private checkType(resourceType: string, interaction: FhirInteraction): string {
    if (!isKnownResourceType(resourceType)) {
      throw notFound(`Unknown resource type "${resourceType}"`);
    }
    assertTypeAllowed(this.ctx, resourceType, accessKind(interaction));
    assertScopesAllow(this.ctx, resourceType, interaction);
    return resourceType;
  }

  private present(resourceType: string, id: string, current: StoredVersion | undefined): Resource {
    if (!current) {
      throw notFound(`${resourceType}/${id} not found`);
    }
    if (current.deleted || !current.resource) {
      throw gone(`${resourceType}/${id} was deleted`);
    }
    return redactSecrets(current.resource);
  }

  private async write(tx: Queryable, resource: Resource, current: StoredVersion | undefined, method: WriteMethod): Promise<Resource> {
    return redactSecrets(await writeResource(this.deps, this.scope, tx, resource, current, method));
  }

}

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
