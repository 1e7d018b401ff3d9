/**
 * Resources found through the search index tables by many values at once (keyed
 * `(project_id, resource_type, code, value…)`): what an invite, and a bulk invite's whole chunk,
 * asks about Users, profiles and memberships (admin/invite-lookups.ts) in one statement per
 * question. Reached through ResourceStore.findByIndexValues; it reads only the projects of the
 * scopes it is given.
 */
import type { Queryable } from '../db/database.js';
import type { StoredVersion } from './resource-store.js';
import type { Scope } from './scope.js';
import { toStored, type StoredRow } from './stored-row.js';

/** What findResourcesByIndexValues looks for: normalised string values, token values, or reference targets. */
export type IndexValueMatch =
  | { table: 'string' | 'token'; code: string; values: readonly string[] }
  | { table: 'reference'; code: string; targetType: string; values: readonly string[] };

export interface IndexValueHit {
  /** The index value (for a reference, the target id) the resource matched. */
  key: string;
  projectId: string;
  version: StoredVersion;
}

/**
 * Current (not deleted) resources of `resourceType` in the scopes' projects whose search
 * index holds one of `match`'s values, each with the value it matched (`key`), oldest first.
 * Each index row reaches its resource by primary key (LATERAL), so the statement is an index
 * range scan plus key lookups whatever the planner's statistics say.
 */
export async function findResourcesByIndexValues(q: Queryable, scopes: readonly Scope[], resourceType: string, match: IndexValueMatch): Promise<IndexValueHit[]> {
  if (scopes.length === 0 || match.values.length === 0) {
    return [];
  }
  const [table, key, extra] =
    match.table === 'reference'
      ? ['search_reference', 's.target_id', 'AND s.target_type = $5 AND s.target_id = ANY($4::text[])']
      : [match.table === 'string' ? 'search_string' : 'search_token', 's.value', 'AND s.value = ANY($4::text[])'];
  const params: unknown[] = [scopes.map((s) => s.projectId), resourceType, match.code, [...new Set(match.values)]];
  if (match.table === 'reference') params.push(match.targetType);
  const { rows } = await q.query<StoredRow & { project_id: string; key: string }>(
    `SELECT DISTINCT ${key} AS key, r.project_id, r.resource_type, r.id, r.version_id, r.last_updated, r.deleted, r.content
       FROM ${table} s
       CROSS JOIN LATERAL (SELECT * FROM resource r
                            WHERE r.project_id = s.project_id AND r.resource_type = s.resource_type AND r.id = s.resource_id AND NOT r.deleted) r
      WHERE s.project_id = ANY($1::uuid[]) AND s.resource_type = $2 AND s.code = $3 ${extra}
      ORDER BY r.last_updated, r.id`,
    params,
  );
  return rows.map((r) => ({ key: r.key, projectId: r.project_id, version: toStored(r) }));
}
