/**
 * The server acting for itself (bootstrap, sign-in, tokens): reads and writes in an explicit
 * system Scope, with validation and versioning but no member's rules. Secrets such as
 * `User.passwordHash` are set here, not through the member's Repository (which keeps them).
 * Never handed to a route that serves a member's FHIR request.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Database, Queryable } from '../db/database.js';
import type { StoredVersion } from './resource-store.js';
import type { Scope } from './scope.js';
import { writeResource, type WriteDeps } from './write-resource.js';

export class SystemRepository {
  constructor(private readonly deps: WriteDeps & { db: Database }) {}

  /** Creates a resource with a new id, or with `id` when the server chose one. */
  async create<T extends Resource>(scope: Scope, resource: T, tx?: Queryable): Promise<T & { id: string }> {
    const run = (q: Queryable): Promise<Resource> =>
      writeResource(this.deps, scope, q, { ...resource, id: resource.id ?? this.deps.random.uuid() }, undefined, 'POST', 'as-given');
    return (tx ? await run(tx) : await this.deps.db.transaction(run)) as T & { id: string };
  }

  /** Writes a new version of an existing resource, replacing even secret fields. */
  async update<T extends Resource>(scope: Scope, resource: T & { id: string }, tx?: Queryable): Promise<T & { id: string }> {
    const run = async (q: Queryable): Promise<Resource> => {
      const current = await this.deps.store.lockCurrent(scope, q, resource.resourceType, resource.id);
      // Passing no "current" content keeps nothing from the old version: the server's write is complete.
      return writeResource(this.deps, scope, q, resource, current && { ...current, resource: undefined }, 'PUT', 'as-given');
    };
    return (tx ? await run(tx) : await this.deps.db.transaction(run)) as T & { id: string };
  }

  async read<T extends Resource>(scope: Scope, resourceType: T['resourceType'], id: string, q?: Queryable): Promise<(T & { id: string }) | undefined> {
    const current: StoredVersion | undefined = await this.deps.store.readCurrent(scope, resourceType, id, q);
    return current && !current.deleted ? (current.resource as T & { id: string }) : undefined;
  }
}
