/**
 * `GET /admin/projects/:projectId/members`: the member list the web app shows (beyond
 * Medplum, whose admins search ProjectMembership instead): each membership with its profile
 * (a Reference with a display name), the User's email, the admin flag, its access policies,
 * the invite state and whether it is the owner's. `removed=true` lists removed memberships as
 * they were before removal, so they can be restored. Keyset-paged by membership id; one
 * statement for the page, one for the profiles, one or two for the accounts.
 */
import type { HumanName, ProjectMembership, Reference, Resource, User } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcomes.js';
import type { StoredVersion } from '../fhir/resource-store.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { inviteStateOf, type InviteState } from './invite-state.js';
import { isOwnerMembership, loadProject, policyReferences, splitReference, type MemberDeps, type StoredMembership } from './members.js';

export const PROFILE_TYPES = ['Patient', 'Practitioner', 'RelatedPerson', 'ClientApplication', 'Bot'] as const;
export const DEFAULT_MEMBER_COUNT = 100;
export const MAX_MEMBER_COUNT = 1000;

export interface MemberListQuery {
  profileType?: (typeof PROFILE_TYPES)[number];
  removed: boolean;
  count: number;
  /** The last id of the previous page. */
  afterId?: string;
}

export interface MemberSummary {
  id: string;
  membership: StoredMembership;
  profile: Reference;
  email?: string;
  admin: boolean;
  accessPolicy: Reference[];
  active: boolean;
  inviteState: InviteState;
  removed: boolean;
  owner: boolean;
}

export interface MemberPage {
  members: MemberSummary[];
  /** The `_cursor` of the next page, when there may be one. */
  nextCursor?: string;
}

const ALLOWED_PARAMS = new Set(['profileType', 'removed', '_count', '_cursor']);

/** Reads the query string; any unknown or malformed parameter is a 400 naming it. */
export function parseMemberListQuery(query: Record<string, unknown>): MemberListQuery {
  for (const [name, value] of Object.entries(query)) {
    if (!ALLOWED_PARAMS.has(name)) throw badRequest(`Unknown parameter "${name}"`, name);
    if (typeof value !== 'string') throw badRequest(`${name} may be given once`, name);
  }
  const { profileType, removed, _count: count, _cursor: cursor } = query as Record<string, string | undefined>;
  if (profileType !== undefined && !(PROFILE_TYPES as readonly string[]).includes(profileType)) {
    throw badRequest(`profileType must be one of ${PROFILE_TYPES.join(', ')}`, 'profileType');
  }
  if (removed !== undefined && removed !== 'true' && removed !== 'false') {
    throw badRequest('removed must be true or false', 'removed');
  }
  const n = count === undefined ? DEFAULT_MEMBER_COUNT : /^\d{1,4}$/.test(count) ? Number(count) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_MEMBER_COUNT) {
    throw badRequest(`_count must be a whole number from 1 to ${MAX_MEMBER_COUNT}`, '_count');
  }
  let afterId: string | undefined;
  if (cursor !== undefined) {
    afterId = Buffer.from(cursor, 'base64url').toString('utf8');
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(afterId) || Buffer.from(afterId, 'utf8').toString('base64url') !== cursor) {
      throw badRequest('_cursor is not one this server gave', '_cursor');
    }
  }
  return {
    removed: removed === 'true',
    count: n,
    ...(profileType ? { profileType: profileType as MemberListQuery['profileType'] } : {}),
    ...(afterId ? { afterId } : {}),
  };
}

export async function listMembers(deps: MemberDeps, projectId: string, query: MemberListQuery): Promise<MemberPage> {
  const scope = systemScope(projectId);
  const project = await loadProject(deps, projectId);
  const rows = await deps.store.listMemberships(scope, {
    removed: query.removed,
    limit: query.count + 1,
    ...(query.profileType ? { profileType: query.profileType } : {}),
    ...(query.afterId ? { afterId: query.afterId } : {}),
  });
  const page = rows.slice(0, query.count).map((r) => r.resource as StoredMembership);
  const refs = (field: 'profile' | 'user'): Array<{ resourceType: string; id: string }> =>
    page.map((m) => splitReference(m[field]?.reference)).filter((r): r is { resourceType: string; id: string } => r !== undefined);
  const userRefs = refs('user').filter((r) => r.resourceType === 'User');
  // Profiles and project-scoped Users are in the project; server-wide Users in the system project.
  const [inProject, serverUsers] = await Promise.all([
    deps.store.readMany(scope, [...refs('profile'), ...userRefs]),
    deps.store.readMany(systemScope(SYSTEM_PROJECT_ID), userRefs),
  ]);
  const byRef = new Map<string, StoredVersion>();
  for (const row of [...serverUsers, ...inProject]) byRef.set(`${row.resourceType}/${row.id}`, row);
  const members = page.map((membership) => summarize(membership, project, byRef, query.removed));
  const last = page[page.length - 1];
  return { members, ...(rows.length > query.count && last ? { nextCursor: Buffer.from(last.id, 'utf8').toString('base64url') } : {}) };
}

function summarize(membership: StoredMembership, project: Parameters<typeof isOwnerMembership>[0], byRef: Map<string, StoredVersion>, removed: boolean): MemberSummary {
  const userRow = membership.user?.reference ? byRef.get(membership.user.reference) : undefined;
  const user = userRow && !userRow.deleted ? (userRow.resource as User) : undefined;
  const profileRow = membership.profile?.reference ? byRef.get(membership.profile.reference) : undefined;
  const display = membership.profile?.display ?? (profileRow?.resource ? displayOf(profileRow.resource) : undefined);
  const policies = new Map<string, Reference>();
  for (const { reference } of policyReferences(membership)) {
    if (reference.reference && !policies.has(reference.reference)) policies.set(reference.reference, reference);
  }
  return {
    id: membership.id,
    membership,
    profile: { ...membership.profile, ...(display ? { display } : {}) },
    ...(user?.email ? { email: user.email } : {}),
    admin: membership.admin === true,
    accessPolicy: [...policies.values()],
    active: membership.active !== false,
    inviteState: inviteStateOf(membership, user),
    removed,
    owner: isOwnerMembership(project, membership as ProjectMembership),
  };
}

/** A person's name as people write it, or a client's or bot's name. */
function displayOf(resource: Resource): string | undefined {
  const named = resource as { name?: HumanName[] | string };
  if (typeof named.name === 'string') return named.name;
  const name = named.name?.[0];
  if (!name) return undefined;
  if (name.text) return name.text;
  const text = [...(name.given ?? []), name.family].filter(Boolean).join(' ');
  return text || undefined;
}
