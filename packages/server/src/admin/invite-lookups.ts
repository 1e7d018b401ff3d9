/**
 * The reads an invite makes inside its transaction, through the search index tables (keyed
 * `(project_id, resource_type, code, value…)`): a User by email, a profile by email, a
 * project's memberships by user or by externalId. Each is written `r.id = ANY(ARRAY(SELECT
 * …))`, as the search code does, so the index lookup runs once and the resources are read by
 * primary key whatever the statistics say; written as `IN (SELECT …)`, a fresh table's
 * semi-join was planned as a scan and each invite took longer than the one before. Every
 * statement is parameterised and names its project; all run on the invite's transaction
 * handle (`tx`), which after `lockInviteKeys` sees what earlier invites of the same person
 * committed.
 */
import type { ProjectMembership, Resource, User } from '@medplum/fhirtypes';
import type { Queryable } from '../db/database.js';
import { normalizeText } from '../fhir/search/normalize.js';

type Stored<T> = T & { id: string };

/**
 * Serialises invites of one person (README: the concurrent-invite test): one key for the
 * project's membership, one for the User's scope (the system project for a server-wide User,
 * which invites into other projects may create at the same time). Held until commit.
 */
export async function lockInviteKeys(tx: Queryable, projectId: string, userProjectId: string, person: { email?: string; externalId?: string }): Promise<void> {
  const keys: string[] = [];
  if (person.email) {
    keys.push(`invite-member|${projectId}|email|${person.email}`, `invite-user|${userProjectId}|email|${person.email}`);
  }
  if (person.externalId) keys.push(`invite-member|${projectId}|external-id|${person.externalId}`);
  // One statement for all keys (a bulk invite takes them for every row): the sorted subquery
  // makes every invite take them in the same order, so two invites cannot deadlock on them.
  await tx.query('SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM (SELECT DISTINCT k FROM unnest($1::text[]) AS u(k) ORDER BY k) AS keys', [keys]);
}

/**
 * The Users with this email (compared lower-cased) in each of the given scopes (projects, or
 * the system project for server-wide Users): one statement for the invite's two scopes.
 */
export async function findUsersByEmailIn(tx: Queryable, userProjectIds: string[], email: string): Promise<Map<string, Stored<User>>> {
  const { rows } = await tx.query<{ project_id: string; content: Stored<User> }>(
    `SELECT r.project_id, r.content FROM resource r
      WHERE r.project_id = ANY($1::uuid[]) AND r.resource_type = 'User' AND NOT r.deleted
        AND r.id = ANY(ARRAY(SELECT s.resource_id FROM search_string s WHERE s.project_id = ANY($1::uuid[]) AND s.resource_type = 'User' AND s.code = 'email' AND s.value = $2))
        AND lower(r.content->>'email') = $3
      ORDER BY r.last_updated DESC`,
    [userProjectIds, normalizeText(email), email.toLowerCase()],
  );
  // Oldest last, so the oldest of (improbable) duplicates wins.
  return new Map(rows.map((r) => [r.project_id, r.content]));
}

/** A profile of `resourceType` in the project whose telecom holds this email (Medplum reuses it rather than make a second). */
export async function findProfileByEmail(tx: Queryable, projectId: string, resourceType: string, email: string): Promise<Stored<Resource> | undefined> {
  const { rows } = await tx.query<{ content: Stored<Resource> }>(
    `SELECT r.content FROM resource r
      WHERE r.project_id = $1 AND r.resource_type = $2 AND NOT r.deleted
        AND r.id = ANY(ARRAY(SELECT s.resource_id FROM search_token s WHERE s.project_id = $1 AND s.resource_type = $2 AND s.code = 'email' AND s.value = $3))
      ORDER BY r.last_updated LIMIT 1`,
    [projectId, resourceType, email],
  );
  return rows[0]?.content;
}

/** The project's memberships whose `user` is `User/<userId>`, oldest first. */
export async function findMembershipsOfUserIn(tx: Queryable, projectId: string, userId: string): Promise<Array<Stored<ProjectMembership>>> {
  const { rows } = await tx.query<{ content: Stored<ProjectMembership> }>(
    `SELECT r.content FROM resource r
      WHERE r.project_id = $1 AND r.resource_type = 'ProjectMembership' AND NOT r.deleted
        AND r.id = ANY(ARRAY(SELECT s.resource_id FROM search_reference s
                      WHERE s.project_id = $1 AND s.resource_type = 'ProjectMembership' AND s.code = 'user' AND s.target_id = $2 AND s.target_type = 'User'))
      ORDER BY r.last_updated`,
    [projectId, userId],
  );
  return rows.map((r) => r.content);
}

/** The project's membership with this externalId (unique per project), if any. */
export async function findMembershipByExternalId(tx: Queryable, projectId: string, externalId: string): Promise<Stored<ProjectMembership> | undefined> {
  const { rows } = await tx.query<{ content: Stored<ProjectMembership> }>(
    `SELECT r.content FROM resource r
      WHERE r.project_id = $1 AND r.resource_type = 'ProjectMembership' AND NOT r.deleted
        AND r.id = ANY(ARRAY(SELECT s.resource_id FROM search_string s
                      WHERE s.project_id = $1 AND s.resource_type = 'ProjectMembership' AND s.code = 'external-id' AND s.value = $2))
        AND r.content->>'externalId' = $3
      LIMIT 1`,
    [projectId, normalizeText(externalId), externalId],
  );
  return rows[0]?.content;
}
