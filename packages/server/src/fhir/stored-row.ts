/**
 * How a row of `resource` or `resource_history` becomes a StoredVersion: shared by the
 * store's modules (resource-store.ts, index-value-lookup.ts) so that every read hands back
 * the same shape, whichever statement fetched it.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { StoredVersion, WriteMethod } from './resource-store.js';

/** The columns a statement selects for toStored (history reads add `seq` and `method`). */
export const STORED_COLUMNS = 'resource_type, id, version_id, last_updated, deleted, content';

export interface StoredRow {
  resource_type: string;
  id: string;
  version_id: string;
  last_updated: Date | string;
  deleted: boolean;
  content: Resource | null;
  seq?: string | number;
  method?: WriteMethod;
}

/** jsonb does not keep key order; put resourceType, id and meta first again, as people read them. */
function ordered(content: Resource): Resource {
  const { resourceType, id, meta, ...rest } = content;
  return { resourceType, ...(id === undefined ? {} : { id }), ...(meta === undefined ? {} : { meta }), ...rest } as Resource;
}

export function toStored(row: StoredRow): StoredVersion {
  return {
    resourceType: row.resource_type,
    id: row.id,
    versionId: row.version_id,
    lastUpdated: new Date(row.last_updated).toISOString(),
    deleted: row.deleted,
    resource: row.content ? ordered(row.content) : undefined,
    seq: row.seq === undefined ? undefined : String(row.seq),
    method: row.method,
  };
}
