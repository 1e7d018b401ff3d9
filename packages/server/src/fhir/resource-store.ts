/**
 * Raw storage of resources and their history, in SQL, always confined to a `Scope`'s project.
 * It knows nothing of HTTP, validation or permissions (that is `Repository`'s work); it only
 * guarantees that no statement it runs can touch another tenant's rows. Beside it: the row
 * mapping (stored-row.ts), index lookups of many values (index-value-lookup.ts), and the bulk
 * write path (resource-store-bulk.ts).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Database, Queryable } from '../db/database.js';
import { findResourcesByIndexValues, type IndexValueHit, type IndexValueMatch } from './index-value-lookup.js';
import type { Scope } from './scope.js';
import type { CompiledSearch } from './search/compile-search.js';
import type { ProjectQuery, RowRestriction } from './search/include-sql.js';
import { SqlParams } from './search/sql.js';
import type { IndexRows } from './search/index-rows.js';
import { deleteIndexRows, writeIndexRows } from './search/index-writer.js';
import type { Cursor } from './search/paging.js';
import { buildCountQuery, buildEstimateQuery, buildPageQuery, ESTIMATE_COUNT_CAP, readPlanRows, type BuiltQuery, type PageQuery } from './search/search-sql.js';
import { STORED_COLUMNS, toStored, type StoredRow } from './stored-row.js';

export interface StoredVersion {
  resourceType: string;
  id: string;
  versionId: string;
  lastUpdated: string;
  deleted: boolean;
  /** Undefined only for a history entry that records a delete. */
  resource: Resource | undefined;
  /** The history sequence number: a stable cursor for paging. */
  seq?: string;
  /** For history entries: the interaction that made the version. */
  method?: WriteMethod;
}

export type WriteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface WriteVersion {
  resourceType: string;
  id: string;
  versionId: string;
  lastUpdated: Date;
  /** For a delete: the content before it, kept on the current row; history records no content. */
  resource: Resource;
  deleted: boolean;
  method: WriteMethod;
}

export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  /** Only versions at or after this instant (`_since`). */
  since?: Date;
  /** Only versions at or before this instant (`_at`-style upper bound). */
  until?: Date;
  /** Only versions older than this cursor (from a previous page). */
  beforeSeq?: string;
  /** Types left out (a system history for a caller who may not read them). */
  excludeTypes?: readonly string[];
  /** The caller's access policy on the resources' current rows (src/fhir/access-policy/policy-sql.ts). */
  restrict?: RowRestriction;
  limit: number;
}

/** A search result row: the version, and its sort values as text (what a paging cursor holds). */
export interface SearchRow {
  version: StoredVersion;
  sortValues: Array<string | null>;
}


export class ResourceStore {
  constructor(private readonly db: Database) {}

  /** The current row of a resource, deleted or not; undefined when the id was never used in this project. */
  async readCurrent(scope: Scope, resourceType: string, id: string, q: Queryable = this.db): Promise<StoredVersion | undefined> {
    const { rows } = await q.query<StoredRow>(
      `SELECT ${STORED_COLUMNS} FROM resource WHERE project_id = $1 AND resource_type = $2 AND id = $3`,
      [scope.projectId, resourceType, id],
      { name: 'tessera_read_current' },
    );
    return rows[0] && toStored(rows[0]);
  }

  /** Like readCurrent, inside a transaction, locking the row until the transaction ends. */
  async lockCurrent(scope: Scope, tx: Queryable, resourceType: string, id: string): Promise<StoredVersion | undefined> {
    const { rows } = await tx.query<StoredRow>(
      `SELECT ${STORED_COLUMNS} FROM resource WHERE project_id = $1 AND resource_type = $2 AND id = $3 FOR UPDATE`,
      [scope.projectId, resourceType, id],
      { name: 'tessera_lock_current' },
    );
    return rows[0] && toStored(rows[0]);
  }

  async readVersion(scope: Scope, resourceType: string, id: string, versionId: string): Promise<StoredVersion | undefined> {
    const { rows } = await this.db.query<StoredRow>(
      `SELECT ${STORED_COLUMNS}, seq, method FROM resource_history
        WHERE project_id = $1 AND resource_type = $2 AND id = $3 AND version_id = $4`,
      [scope.projectId, resourceType, id, versionId],
    );
    return rows[0] && toStored(rows[0]);
  }

  /** Writes a new current version and appends it to history, inside the caller's transaction. */
  async writeVersion(scope: Scope, tx: Queryable, v: WriteVersion): Promise<void> {
    const content = JSON.stringify(v.resource);
    await tx.query(
      `INSERT INTO resource (project_id, resource_type, id, version_id, last_updated, deleted, content)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
       ON CONFLICT (project_id, resource_type, id) DO UPDATE
         SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated,
             deleted = EXCLUDED.deleted, content = EXCLUDED.content`,
      [scope.projectId, v.resourceType, v.id, v.versionId, v.lastUpdated, v.deleted, content],
      { name: 'tessera_write_resource' },
    );
    await tx.query(
      `INSERT INTO resource_history (project_id, resource_type, id, version_id, last_updated, deleted, method, content)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
      [scope.projectId, v.resourceType, v.id, v.versionId, v.lastUpdated, v.deleted, v.method, v.deleted ? null : content],
      { name: 'tessera_write_history' },
    );
  }

  /**
   * Versions newest first: of one resource, of one type, or of the whole project. `restrict`
   * (an access policy) keeps only versions of resources whose current row satisfies it.
   */
  async history(scope: Scope, query: HistoryQuery): Promise<StoredVersion[]> {
    const params = new SqlParams(1);
    const where = ['h.project_id = $1'];
    const restricted = query.restrict?.(params, 'r');
    if (restricted !== undefined) {
      where.push(`EXISTS (SELECT 1 FROM resource r WHERE r.project_id = $1 AND r.resource_type = h.resource_type AND r.id = h.id AND NOT r.deleted AND ${restricted})`);
    }
    if (query.resourceType !== undefined) where.push(`h.resource_type = ${params.add(query.resourceType, 'text')}`);
    if (query.id !== undefined) where.push(`h.id = ${params.add(query.id, 'text')}`);
    if (query.since !== undefined) where.push(`h.last_updated >= ${params.add(query.since, 'timestamptz')}`);
    if (query.until !== undefined) where.push(`h.last_updated <= ${params.add(query.until, 'timestamptz')}`);
    if (query.beforeSeq !== undefined) where.push(`h.seq < ${params.add(query.beforeSeq, 'bigint')}`);
    if (query.excludeTypes?.length) where.push(`h.resource_type <> ALL(${params.add(query.excludeTypes, 'text[]')})`);
    const limit = params.add(query.limit, 'integer');
    const { rows } = await this.db.query<StoredRow>(
      `SELECT h.resource_type, h.id, h.version_id, h.last_updated, h.deleted, h.content, h.seq, h.method FROM resource_history h
        WHERE ${where.join(' AND ')} ORDER BY h.seq DESC LIMIT ${limit}`,
      [scope.projectId, ...params.values],
    );
    return rows.map(toStored);
  }

  /**
   * Whether the current, not deleted row of a resource satisfies `condition` (an access
   * policy's predicate over the row `r`, its type `$2`), seen from `q` (a transaction sees its own writes).
   */
  async rowSatisfies(scope: Scope, resourceType: string, id: string, condition: (params: SqlParams) => string, q: Queryable = this.db): Promise<boolean> {
    const params = new SqlParams(2);
    const where = condition(params);
    const { rows } = await q.query(
      `SELECT 1 FROM resource r WHERE r.project_id = $1 AND r.resource_type = $2 AND r.id = ${params.add(id, 'text')} AND NOT r.deleted AND ${where}`,
      [scope.projectId, resourceType, ...params.values],
    );
    return rows.length > 0;
  }

  /** Current Users of the scope's project with this email (compared lower-cased). */
  async findUsersByEmail(scope: Scope, email: string, q: Queryable = this.db): Promise<StoredVersion[]> {
    const { rows } = await q.query<StoredRow>(
      `SELECT ${STORED_COLUMNS} FROM resource
        WHERE project_id = $1 AND resource_type = 'User' AND NOT deleted AND lower(content->>'email') = $2`,
      [scope.projectId, email.toLowerCase()],
    );
    return rows.map(toStored);
  }

  /**
   * The active memberships of a user in every project: the one lookup that crosses tenants,
   * for sign-in to offer a choice of projects. It needs a system scope.
   */
  async findMembershipsOfUser(scope: Scope, userReference: string): Promise<Array<StoredVersion & { projectId: string }>> {
    if (!scope.system) {
      throw new Error('findMembershipsOfUser needs a system scope');
    }
    const { rows } = await this.db.query<StoredRow & { project_id: string }>(
      `SELECT project_id, ${STORED_COLUMNS} FROM resource
        WHERE resource_type = 'ProjectMembership' AND NOT deleted AND content->'user'->>'reference' = $1
        ORDER BY last_updated`,
      [userReference],
    );
    return rows.map((r) => ({ ...toStored(r), projectId: r.project_id }));
  }

  // ---- Search (src/fhir/search/): index rows kept with each version, and searches over them. ----

  /**
   * Replaces a resource's search index rows, in the transaction that writes its version.
   * `replace` false (a create) skips removing rows, as a new resource has none.
   */
  async writeSearchIndex(scope: Scope, tx: Queryable, resourceType: string, id: string, rows: IndexRows, replace: boolean): Promise<void> {
    await writeIndexRows(tx, { projectId: scope.projectId, resourceType, resourceId: id }, rows, replace);
  }

  /** Removes a resource's search index rows (on delete), in the deleting transaction. */
  async deleteSearchIndex(scope: Scope, tx: Queryable, resourceType: string, id: string): Promise<void> {
    await deleteIndexRows(tx, { projectId: scope.projectId, resourceType, resourceId: id });
  }

  /** One page of a search, in the scope's project only: the compiled SQL gets the project as $1 from here. */
  async search(scope: Scope, compiled: CompiledSearch, limit: number, cursor?: Cursor): Promise<SearchRow[]> {
    // A page may come in attempts (driven-page.ts): each next one only when the last fell short
    // without having seen every candidate.
    let query: PageQuery | undefined = buildPageQuery(compiled, limit, cursor);
    let rows: Array<StoredRow & Record<string, unknown>> = [];
    while (query !== undefined) {
      rows = await this.runSearchQuery<StoredRow & Record<string, unknown>>(scope, compiled, query);
      query = rows.length < limit && rows[0]?.page_complete !== true ? query.fallback : undefined;
    }
    return rows.map((row) => ({ version: toStored(row), sortValues: compiled.sort.map((_s, i) => (row[`c${i}`] as string | null) ?? null) }));
  }

  /**
   * How many resources of the scope's project match. `estimate` counts exactly up to
   * ESTIMATE_COUNT_CAP and answers the planner's estimate beyond it, so it stays cheap on large results.
   */
  async countSearch(scope: Scope, compiled: CompiledSearch, mode: 'accurate' | 'estimate'): Promise<number> {
    const count = async (cap?: number): Promise<number> =>
      Number((await this.runSearchQuery<{ n: string }>(scope, compiled, buildCountQuery(compiled, cap)))[0]?.n ?? 0);
    if (mode === 'accurate') {
      return count();
    }
    const capped = await count(ESTIMATE_COUNT_CAP);
    if (capped <= ESTIMATE_COUNT_CAP) {
      return capped;
    }
    const plan = await this.runSearchQuery<Record<string, unknown>>(scope, compiled, buildEstimateQuery(compiled));
    return Math.max(capped, readPlanRows(plan[0]));
  }

  /**
   * Resources of any type picked by a statement built in src/fhir/search (`_include`,
   * `_revinclude`, `$everything`), in the scope's project only: the statement's $1 is the project, from here.
   */
  async searchRelated(scope: Scope, query: ProjectQuery): Promise<StoredVersion[]> {
    const { rows } = await this.db.query<StoredRow>(query.sql, [scope.projectId, ...query.params]);
    return rows.map(toStored);
  }

  private async runSearchQuery<R>(scope: Scope, compiled: CompiledSearch, query: BuiltQuery): Promise<R[]> {
    const { rows } = await this.db.query<R>(query.sql, [scope.projectId, compiled.resourceType, ...query.params]);
    return rows;
  }

  /**
   * Finds a resource by type and id in whichever project holds it: for identifiers that are
   * global by construction (ClientApplication ids used as OAuth client_id). System scope only.
   */
  async locate(scope: Scope, resourceType: string, id: string): Promise<(StoredVersion & { projectId: string }) | undefined> {
    if (!scope.system) {
      throw new Error('locate needs a system scope');
    }
    const { rows } = await this.db.query<StoredRow & { project_id: string }>(
      `SELECT project_id, ${STORED_COLUMNS} FROM resource WHERE resource_type = $1 AND id = $2 LIMIT 2`,
      [resourceType, id],
    );
    // Two projects with the same id (possible for client-chosen ids) is ambiguous: treat as unknown.
    return rows.length === 1 && rows[0] ? { ...toStored(rows[0]), projectId: rows[0].project_id } : undefined;
  }

  /** Counts current, non-deleted resources of a project (for tests and admin summaries). */
  async count(scope: Scope, resourceType?: string): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM resource WHERE project_id = $1 AND NOT deleted AND ($2::text IS NULL OR resource_type = $2)`,
      [scope.projectId, resourceType ?? null],
    );
    return Number(rows[0]?.n ?? 0);
  }

  // ---- Project administration (src/admin/members*.ts, guard-rails.ts). ----

  /**
   * One page of a project's memberships, current (`removed` false) or removed (deleted; the
   * row keeps the content of the last version before the delete), keyset-paged by id.
   * `profileType` narrows to memberships whose profile is of that type.
   */
  async listMemberships(
    scope: Scope,
    query: { removed: boolean; profileType?: string; afterId?: string; limit: number },
    q: Queryable = this.db,
  ): Promise<StoredVersion[]> {
    const { rows } = await q.query<StoredRow>(
      `SELECT ${STORED_COLUMNS} FROM resource
        WHERE project_id = $1 AND resource_type = 'ProjectMembership' AND deleted = $2
          AND ($3::text IS NULL OR split_part(content->'profile'->>'reference', '/', 1) = $3)
          AND ($4::text IS NULL OR id > $4)
        ORDER BY id LIMIT $5`,
      [scope.projectId, query.removed, query.profileType ?? null, query.afterId ?? null, query.limit],
    );
    return rows.map(toStored);
  }

  /** Current rows (deleted ones too) of the given (type, id) pairs in the scope's project. */
  async readMany(scope: Scope, refs: ReadonlyArray<{ resourceType: string; id: string }>, q: Queryable = this.db): Promise<StoredVersion[]> {
    if (refs.length === 0) {
      return [];
    }
    const { rows } = await q.query<StoredRow>(
      `SELECT ${STORED_COLUMNS} FROM resource
        WHERE project_id = $1 AND (resource_type, id) IN (SELECT t, i FROM unnest($2::text[], $3::text[]) AS u(t, i))`,
      [scope.projectId, refs.map((r) => r.resourceType), refs.map((r) => r.id)],
    );
    return rows.map(toStored);
  }

  /**
   * Ids of the active (not deleted, `active` not false) memberships of the scope's project
   * whose profile is `profileType/profileId`, through the search index on `profile`.
   */
  async findActiveMembershipsByProfile(scope: Scope, q: Queryable, profileType: string, profileId: string): Promise<string[]> {
    const { rows } = await q.query<{ id: string }>(
      `SELECT r.id FROM resource r
        WHERE r.project_id = $1 AND r.resource_type = 'ProjectMembership' AND NOT r.deleted
          AND coalesce(r.content->>'active', 'true') <> 'false'
          AND r.id IN (SELECT s.resource_id FROM search_reference s
                        WHERE s.project_id = $1 AND s.resource_type = 'ProjectMembership' AND s.code = 'profile'
                          AND s.target_id = $3 AND s.target_type = $2)
        ORDER BY r.id LIMIT 10`,
      [scope.projectId, profileType, profileId],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Ids of the Logins (not revoked) made for one membership, in the scope's project (Logins
   * live in the system project). Narrowed through the search index on Login `user`.
   */
  async findOpenLoginsOfMembership(scope: Scope, q: Queryable, account: { resourceType: string; id: string }, membershipId: string): Promise<string[]> {
    const { rows } = await q.query<{ id: string }>(
      `SELECT r.id FROM resource r
        WHERE r.project_id = $1 AND r.resource_type = 'Login' AND NOT r.deleted
          AND r.content->'membership'->>'reference' = $4
          AND coalesce(r.content->>'revoked', 'false') <> 'true'
          AND r.id IN (SELECT s.resource_id FROM search_reference s
                        WHERE s.project_id = $1 AND s.resource_type = 'Login' AND s.code = 'user'
                          AND s.target_id = $3 AND s.target_type = $2)`,
      [scope.projectId, account.resourceType, account.id, `ProjectMembership/${membershipId}`],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Ids of the Logins (not revoked) of a client application, in the scope's project: the
   * client's own (client_credentials: its `user`) and, with `throughClient`, every sign-in made
   * through it (`client`). Only for an admin's rare disable or rotation: `client` has no index,
   * so this reads the project's open Logins.
   */
  async findOpenLoginsOfClient(scope: Scope, q: Queryable, clientId: string, throughClient: boolean): Promise<string[]> {
    const reference = `ClientApplication/${clientId}`;
    const { rows } = await q.query<{ id: string }>(
      `SELECT r.id FROM resource r
        WHERE r.project_id = $1 AND r.resource_type = 'Login' AND NOT r.deleted
          AND coalesce(r.content->>'revoked', 'false') <> 'true'
          AND (r.content->'user'->>'reference' = $2 OR ($3 AND r.content->'client'->>'reference' = $2))`,
      [scope.projectId, reference, throughClient],
    );
    return rows.map((r) => r.id);
  }

  // ---- Invites (src/admin/invite-lookups.ts): index lookups of many values at once. ----

  /** Current resources of the scopes' projects by search index values: see index-value-lookup.ts. */
  async findByIndexValues(scopes: readonly Scope[], resourceType: string, match: IndexValueMatch, q: Queryable = this.db): Promise<IndexValueHit[]> {
    return findResourcesByIndexValues(q, scopes, resourceType, match);
  }
}
