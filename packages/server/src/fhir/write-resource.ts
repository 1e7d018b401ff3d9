/**
 * The one way a new version is made, for the member's Repository and the server's own work
 * alike: server-assigned `meta.versionId` and `meta.lastUpdated`, stored secrets kept,
 * validation against the definitions, then the row, its history entry and its search index rows.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Queryable } from '../db/database.js';
import type { Clock, Random } from '../deps.js';
import { keepSecrets } from './protected-types.js';
import type { ResourceStore, StoredVersion, WriteMethod } from './resource-store.js';
import type { Scope } from './scope.js';
import { extractIndexRows } from './search/extract.js';
import { assertValidResource } from './validate.js';

export interface WriteDeps {
  store: ResourceStore;
  clock: Clock;
  random: Random;
}

/**
 * How secret fields (`User.passwordHash`) are written: a member's write keeps the stored ones
 * (a client never sees them, so cannot send them); the server's own write sets them as given.
 */
export type SecretFields = 'keep-stored' | 'as-given';

/** Returns the stored resource, secrets included: callers that answer a client must redact. */
export async function writeResource(
  deps: WriteDeps,
  scope: Scope,
  tx: Queryable,
  resource: Resource,
  current: StoredVersion | undefined,
  method: WriteMethod,
  secrets: SecretFields = 'keep-stored',
): Promise<Resource> {
  const versionId = deps.random.uuid();
  const lastUpdated = deps.clock.now();
  const stamped = { ...resource, meta: { ...resource.meta, versionId, lastUpdated: lastUpdated.toISOString() } } as Resource;
  const next = secrets === 'as-given' ? stamped : keepSecrets(stamped, current?.resource);
  assertValidResource(next);
  await deps.store.writeVersion(scope, tx, {
    resourceType: next.resourceType,
    id: next.id as string,
    versionId,
    lastUpdated,
    resource: next,
    deleted: false,
    method,
  });
  // Search index: the new version's values replace the old ones in the same transaction, so a
  // search never sees a version without its index rows, nor old rows after an update.
  // A POST's id is new, so it has no rows to replace; a PUT to an unused id may race another
  // PUT to the same id, so it replaces (after the other commits) rather than adds.
  const replace = current !== undefined || method !== 'POST';
  await deps.store.writeSearchIndex(scope, tx, next.resourceType, next.id as string, extractIndexRows(next), replace);
  return next;
}
