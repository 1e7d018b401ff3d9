/**
 * The bulk write path (admin/bulk-invite-chunk.ts): a ResourceStore that holds its writes in
 * memory and sends them in one statement. Everything else a bulk invite does (reads, locks)
 * goes through the ordinary store and db/advisory-locks.ts.
 */
import type { Queryable } from '../db/database.js';
import { ResourceStore, type WriteVersion } from './resource-store.js';
import type { Scope } from './scope.js';
import type { IndexRows } from './search/index-rows.js';
import { writeIndexClausesMany, type IndexEntry } from './search/index-writer.js';

/** Where a BatchingResourceStore's held writes stood (BatchingResourceStore.mark). */
export interface BatchMark {
  versions: number;
  indexes: number;
  flushes: number;
}

interface HeldVersion {
  projectId: string;
  version: WriteVersion;
}

/**
 * A ResourceStore whose writes (writeVersion, writeSearchIndex) are held in memory and sent by
 * `flush` as one statement: for work that writes many resources in one transaction (bulk
 * invite), where a statement per table per resource would cost more than the work itself.
 * Reads still go to the database and do not see held writes, so its user must not read what it
 * has written before flushing (bulk invite puts each person in one chunk once). A second write
 * of a resource already held flushes first, so that versions keep their order. `mark` and
 * `discardFrom` drop the held writes of a unit of work that failed (a bad row).
 */
export class BatchingResourceStore extends ResourceStore {
  private versions: HeldVersion[] = [];
  private indexes: IndexEntry[] = [];
  private held = new Set<string>();
  private flushes = 0;

  override async writeVersion(scope: Scope, tx: Queryable, v: WriteVersion): Promise<void> {
    const key = `${scope.projectId}/${v.resourceType}/${v.id}`;
    if (this.held.has(key)) await this.flush(tx);
    this.held.add(key);
    this.versions.push({ projectId: scope.projectId, version: v });
  }

  override async writeSearchIndex(scope: Scope, _tx: Queryable, resourceType: string, id: string, rows: IndexRows, replace: boolean): Promise<void> {
    this.indexes.push({ target: { projectId: scope.projectId, resourceType, resourceId: id }, rows, replace });
  }

  override async deleteSearchIndex(scope: Scope, tx: Queryable, resourceType: string, id: string): Promise<void> {
    await this.flush(tx);
    await super.deleteSearchIndex(scope, tx, resourceType, id);
  }

  mark(): BatchMark {
    return { versions: this.versions.length, indexes: this.indexes.length, flushes: this.flushes };
  }

  /** Drops the writes held since `mark`; throws when some were already sent (they cannot be taken back). */
  discardFrom(mark: BatchMark): void {
    if (mark.flushes !== this.flushes) {
      throw new Error('Writes held since this mark were already flushed');
    }
    this.versions.length = mark.versions;
    this.indexes.length = mark.indexes;
    this.held = new Set(this.versions.map((e) => `${e.projectId}/${e.version.resourceType}/${e.version.id}`));
  }

  /** Sends the held writes in `tx` (the transaction they belong to). */
  async flush(tx: Queryable): Promise<void> {
    const [versions, indexes] = [this.versions, this.indexes];
    this.versions = [];
    this.indexes = [];
    this.held.clear();
    this.flushes++;
    await writeMany(tx, versions, indexes);
  }
}

/**
 * Writes many versions and their index rows in one statement: the same rows as
 * ResourceStore.writeVersion and writeSearchIndex called for each, in the same order.
 */
async function writeMany(tx: Queryable, versions: readonly HeldVersion[], indexes: readonly IndexEntry[]): Promise<void> {
  if (versions.length === 0 && indexes.length === 0) {
    return;
  }
  const params: unknown[] = [];
  const column = (read: (v: WriteVersion, projectId: string) => unknown, type: string): string => {
    params.push(versions.map((e) => read(e.version, e.projectId)));
    return `$${params.length}::${type}`;
  };
  const ctes: string[] = [];
  if (versions.length > 0) {
    const common = [
      column((_v, projectId) => projectId, 'uuid[]'),
      column((v) => v.resourceType, 'text[]'),
      column((v) => v.id, 'text[]'),
      column((v) => v.versionId, 'uuid[]'),
      column((v) => v.lastUpdated.toISOString(), 'timestamptz[]'),
      column((v) => v.deleted, 'boolean[]'),
    ].join(', ');
    const contents = versions.map((e) => JSON.stringify(e.version.resource));
    params.push(contents);
    const content = `$${params.length}::text[]`;
    params.push(versions.map((e, i) => (e.version.deleted ? null : contents[i])));
    const historyContent = `$${params.length}::text[]`;
    const method = column((v) => v.method, 'text[]');
    ctes.push(
      `INSERT INTO resource (project_id, resource_type, id, version_id, last_updated, deleted, content)
       SELECT p, t, i, v, l, d, c::jsonb FROM unnest(${common}, ${content}) AS u(p, t, i, v, l, d, c)
       ON CONFLICT (project_id, resource_type, id) DO UPDATE
         SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated,
             deleted = EXCLUDED.deleted, content = EXCLUDED.content`,
      `INSERT INTO resource_history (project_id, resource_type, id, version_id, last_updated, deleted, method, content)
       SELECT p, t, i, v, l, d, m, c::jsonb FROM unnest(${common}, ${method}, ${historyContent}) AS u(p, t, i, v, l, d, m, c)`,
    );
  }
  ctes.push(...writeIndexClausesMany(indexes, params));
  await tx.query(`WITH ${ctes.map((c, i) => `w${i} AS (${c})`).join(',\n')} SELECT 1`, params);
}
