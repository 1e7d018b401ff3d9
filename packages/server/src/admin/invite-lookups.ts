/**
 * The reads an invite makes inside its transaction, through the search index tables (keyed
 * `(project_id, resource_type, code, value…)`, ResourceStore.findByIndexValues): Users by
 * email, a profile by email, a project's memberships by user or by externalId. The SQL is the
 * store's; this module says which index values an invite looks for and what counts as a match.
 *
 * A bulk invite asks for a whole chunk's people at once (`prefetch`): one statement per lookup
 * for the chunk instead of one per row. What it fetched answers the rows' later questions; a
 * question about anyone it did not fetch goes to the database as a single invite's does. This
 * is right only because the chunk holds the advisory locks of all its people (`inviteLockKeys`)
 * before it fetches, and each person appears once in a chunk: nothing else can change their
 * rows until commit, and no other row of the chunk writes them.
 */
import type { ProjectMembership, Resource, User } from '@medplum/fhirtypes';
import type { Queryable } from '../db/database.js';
import type { ResourceStore } from '../fhir/resource-store.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { normalizeText } from '../fhir/search/normalize.js';
import type { InviteInput } from './invite-input.js';

type Stored<T> = T & { id: string };

/**
 * The advisory lock keys that serialise invites of one person (README: the concurrent-invite
 * test): one for the project's membership, one for the User's scope (the system project for a
 * server-wide User, which invites into other projects may create at the same time), and one
 * for the externalId. Held until commit.
 */
export function inviteLockKeys(projectId: string, userProjectId: string, person: { email?: string; externalId?: string }): string[] {
  const keys: string[] = [];
  if (person.email) {
    keys.push(`invite-member|${projectId}|email|${person.email}`, `invite-user|${userProjectId}|email|${person.email}`);
  }
  if (person.externalId) keys.push(`invite-member|${projectId}|external-id|${person.externalId}`);
  return keys;
}

/** The project of the User an invite finds or makes: the project itself, or the system project for a server-wide User. */
export function userProjectOf(projectId: string, input: Pick<InviteInput, 'userScope'>): string {
  return input.userScope === 'project' ? projectId : SYSTEM_PROJECT_ID;
}

/** The index lookups of the invites into one project, inside one transaction (`tx`). */
export class InviteLookups {
  private readonly users = new Map<string, Map<string, Stored<User>>>();
  private readonly profiles = new Map<string, Stored<Resource> | undefined>();
  private readonly memberships = new Map<string, Array<Stored<ProjectMembership>>>();
  private readonly externalIds = new Map<string, Stored<ProjectMembership> | undefined>();

  constructor(
    private readonly store: ResourceStore,
    private readonly tx: Queryable,
    private readonly projectId: string,
  ) {}

  /** Fetches, in a few statements, what the invites of `inputs` will ask (see the module comment for when this is right). */
  async prefetch(inputs: readonly InviteInput[]): Promise<void> {
    const emails = inputs.flatMap((i) => (i.email ? [i.email] : []));
    for (const [email, users] of await this.queryUsers(emails)) this.users.set(email, users);
    for (const email of emails) if (!this.users.has(email)) this.users.set(email, new Map());
    const userIds = [...this.users.values()].flatMap((m) => [...m.values()].map((u) => u.id));
    const memberships = await this.queryMemberships(userIds);
    for (const id of userIds) this.memberships.set(id, memberships.get(id) ?? []);
    for (const type of new Set(inputs.map((i) => i.resourceType))) {
      const typed = inputs.flatMap((i) => (i.email && i.resourceType === type ? [i.email] : []));
      const found = await this.queryProfiles(type, typed);
      for (const email of typed) this.profiles.set(`${type}|${email}`, found.get(email));
    }
    const externalIds = inputs.flatMap((i) => (i.externalId ? [i.externalId] : []));
    const holders = await this.queryExternalIds(externalIds);
    for (const id of externalIds) this.externalIds.set(id, holders.get(id));
  }

  /** The Users with this email (compared lower-cased), by project: the invite's project and the system project. */
  async usersByEmail(email: string): Promise<Map<string, Stored<User>>> {
    return this.users.get(email) ?? (await this.queryUsers([email])).get(email) ?? new Map();
  }

  /** A profile of `resourceType` in the project whose telecom holds this email (Medplum reuses it rather than make a second). */
  async profileByEmail(resourceType: string, email: string): Promise<Stored<Resource> | undefined> {
    const key = `${resourceType}|${email}`;
    return this.profiles.has(key) ? this.profiles.get(key) : (await this.queryProfiles(resourceType, [email])).get(email);
  }

  /** The project's memberships whose `user` is `User/<userId>`, oldest first. */
  async membershipsOfUser(userId: string): Promise<Array<Stored<ProjectMembership>>> {
    return this.memberships.get(userId) ?? (await this.queryMemberships([userId])).get(userId) ?? [];
  }

  /** The project's membership with this externalId (unique per project), if any. */
  async membershipByExternalId(externalId: string): Promise<Stored<ProjectMembership> | undefined> {
    return this.externalIds.has(externalId) ? this.externalIds.get(externalId) : (await this.queryExternalIds([externalId])).get(externalId);
  }

  /** By email, then project; of duplicates (improbable), the oldest. */
  private async queryUsers(emails: readonly string[]): Promise<Map<string, Map<string, Stored<User>>>> {
    const scopes = [systemScope(this.projectId), systemScope(SYSTEM_PROJECT_ID)];
    const hits = await this.store.findByIndexValues(scopes, 'User', { table: 'string', code: 'email', values: emails.map(normalizeText) }, this.tx);
    const wanted = new Set(emails);
    const result = new Map<string, Map<string, Stored<User>>>();
    for (const hit of hits) {
      const user = hit.version.resource as Stored<User>;
      const email = user.email?.toLowerCase();
      if (!email || !wanted.has(email)) continue;
      const byProject = result.get(email) ?? new Map<string, Stored<User>>();
      if (!byProject.has(hit.projectId)) byProject.set(hit.projectId, user);
      result.set(email, byProject);
    }
    return result;
  }

  /** The oldest profile of each email. */
  private async queryProfiles(resourceType: string, emails: readonly string[]): Promise<Map<string, Stored<Resource>>> {
    const hits = await this.store.findByIndexValues([systemScope(this.projectId)], resourceType, { table: 'token', code: 'email', values: emails }, this.tx);
    const result = new Map<string, Stored<Resource>>();
    for (const hit of hits) if (!result.has(hit.key)) result.set(hit.key, hit.version.resource as Stored<Resource>);
    return result;
  }

  private async queryMemberships(userIds: readonly string[]): Promise<Map<string, Array<Stored<ProjectMembership>>>> {
    const hits = await this.store.findByIndexValues([systemScope(this.projectId)], 'ProjectMembership', { table: 'reference', code: 'user', targetType: 'User', values: userIds }, this.tx);
    const result = new Map<string, Array<Stored<ProjectMembership>>>();
    for (const hit of hits) result.set(hit.key, [...(result.get(hit.key) ?? []), hit.version.resource as Stored<ProjectMembership>]);
    return result;
  }

  private async queryExternalIds(externalIds: readonly string[]): Promise<Map<string, Stored<ProjectMembership>>> {
    const hits = await this.store.findByIndexValues([systemScope(this.projectId)], 'ProjectMembership', { table: 'string', code: 'external-id', values: externalIds.map(normalizeText) }, this.tx);
    const wanted = new Set(externalIds);
    const result = new Map<string, Stored<ProjectMembership>>();
    for (const hit of hits) {
      const membership = hit.version.resource as Stored<ProjectMembership>;
      if (membership.externalId && wanted.has(membership.externalId) && !result.has(membership.externalId)) result.set(membership.externalId, membership);
    }
    return result;
  }
}
