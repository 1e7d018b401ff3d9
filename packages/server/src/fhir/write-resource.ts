/**
 * The one way a new version is made, for the member's Repository and the server's own work
 * alike: server-assigned `meta.versionId` and `meta.lastUpdated`, stored secrets kept,
 * validation against the definitions, then the row and its history entry.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Queryable } from '../db/database.js';
import type { Clock, Random } from '../deps.js';
import { keepSecrets } from './protected-types.js';
import type { ResourceStore, StoredVersion, WriteMethod } from './resource-store.js';
import type { Scope } from './scope.js';
import { assertValidResource } from './validate.js';

export interface WriteDeps {
  store: ResourceStore;
  clock: Clock;
  random: Random;
}

/** Returns the stored resource, secrets included: callers that answer a client must redact. */
export async function writeResource(
  deps: WriteDeps,
  scope: Scope,
  tx: Queryable,
  resource: Resource,
  current: StoredVersion | undefined,
  method: WriteMethod,
): Promise<Resource> {
  const versionId = deps.random.uuid();
  const lastUpdated = deps.clock.now();
  const next = keepSecrets({ ...resource, meta: { ...resource.meta, versionId, lastUpdated: lastUpdated.toISOString() } } as Resource, current?.resource);
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
  return next;
}
