/**
 * Project members as an admin manages them (issue 5, "Members"): read the project, read,
 * remove and restore a membership. Shared by the `/admin` routes (project-routes.ts) and the
 * `tessera members` command, so both keep the same rules. Each action runs in one database
 * transaction with its AuditEvent. The caller is given explicitly (`AdminActor`); whether it
 * may act in the project is the route's check (requireProjectAdmin) or the operator's (CLI).
 *
 * Removal is a delete version of the membership: its history is kept, the profile and the
 * User stay (the guide recommends keeping them for audit), and the membership's Logins are
 * revoked. Restore writes the last version before the delete back under the same id.
 * Changing a membership is in member-update.ts, the list in member-list.ts.
 */
import type { Login, Project, ProjectMembership, Reference } from '@medplum/fhirtypes';
import { recordAuditEvent, type AuditAction, type AuditDeps } from '../audit/audit-log.js';
import type { Queryable } from '../db/database.js';
import { assertValidId } from '../fhir/ids.js';
import { badRequest, gone, notFound, outcomeError } from '../fhir/outcomes.js';
import { SYSTEM_PROJECT_ID, systemScope, type Scope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';

export type MemberDeps = AuditDeps;

/** Who acts, for the audit log: the route's RequestContext, or the operator of the CLI. */
export interface AdminActor {
  /** The User, ClientApplication or Bot acting (a display-only Reference for the CLI's operator). */
  who: Reference;
  onBehalfOf?: Reference;
  remoteAddress?: string;
}

export type StoredMembership = ProjectMembership & { id: string };

/** Project fields that are secret, or for super admins only: never in an admin answer. */
const HIDDEN_PROJECT_FIELDS = ['secret', 'systemSecret', 'systemSetting'] as const;
const HIDDEN_SITE_FIELDS = ['googleClientSecret', 'recaptchaSecretKey'] as const;

export async function loadProject(deps: MemberDeps, projectId: string, q?: Queryable): Promise<Project & { id: string }> {
  const current = await deps.store.readCurrent(systemScope(projectId), 'Project', projectId, q);
  if (!current || current.deleted || !current.resource) {
    throw notFound(`Project ${projectId} not found`);
  }
  return current.resource as Project & { id: string };
}

/** `GET /admin/projects/:projectId`: the project and its settings, without secrets. */
export async function readProjectForAdmin(deps: MemberDeps, projectId: string, superAdmin: boolean): Promise<Project> {
  const project: Record<string, unknown> = { ...(await loadProject(deps, projectId)) };
  for (const field of HIDDEN_PROJECT_FIELDS) delete project[field];
  if (!superAdmin) delete project.superAdmin;
  if (Array.isArray(project.site)) {
    project.site = (project.site as Array<Record<string, unknown>>).map((site) => {
      const copy = { ...site };
      for (const field of HIDDEN_SITE_FIELDS) delete copy[field];
      return copy;
    });
  }
  return project as unknown as Project;
}

/** True when the membership is the project owner's (Project.owner is its User). */
export function isOwnerMembership(project: Project, membership: ProjectMembership): boolean {
  const owner = project.owner?.reference;
  return owner !== undefined && owner === membership.user?.reference;
}

/** The membership, current; 404 when the project never had it, 410 when it was removed. */
export async function readMember(deps: MemberDeps, projectId: string, membershipId: string): Promise<StoredMembership> {
  const current = await deps.store.readCurrent(systemScope(projectId), 'ProjectMembership', assertValidId(membershipId));
  if (!current || !current.resource) {
    throw notFound(`ProjectMembership/${membershipId} not found`);
  }
  if (current.deleted) {
    throw gone(`ProjectMembership/${membershipId} was removed; it can be restored`);
  }
  return current.resource as StoredMembership;
}

/** Locks the membership's row for the rest of the transaction; 404 when the project never had it. */
export async function lockMember(deps: MemberDeps, scope: Scope, tx: Queryable, membershipId: string): Promise<{ membership: StoredMembership; removed: boolean }> {
  const current = await deps.store.lockCurrent(scope, tx, 'ProjectMembership', assertValidId(membershipId));
  if (!current || !current.resource) {
    throw notFound(`ProjectMembership/${membershipId} not found`);
  }
  return { membership: current.resource as StoredMembership, removed: current.deleted };
}

export function splitReference(reference: string | undefined): { resourceType: string; id: string } | undefined {
  const match = reference?.match(/^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/);
  return match ? { resourceType: match[1] as string, id: match[2] as string } : undefined;
}

/** The AccessPolicy references of a membership: `accessPolicy` and each `access[].policy`, with where they sit. */
export function policyReferences(membership: ProjectMembership): Array<{ reference: Reference; expression: string }> {
  const found: Array<{ reference: Reference; expression: string }> = [];
  if (membership.accessPolicy) found.push({ reference: membership.accessPolicy, expression: 'accessPolicy' });
  membership.access?.forEach((entry, i) => {
    if (entry.policy) found.push({ reference: entry.policy, expression: `access.${i}.policy` });
  });
  return found;
}

/** Each policy reference must name a current AccessPolicy of this project (`status` 400 on update, 409 on restore). */
export async function assertPoliciesInProject(deps: MemberDeps, scope: Scope, tx: Queryable, membership: ProjectMembership, status: 400 | 409): Promise<void> {
  for (const { reference, expression } of policyReferences(membership)) {
    const target = splitReference(reference.reference);
    const current = target?.resourceType === 'AccessPolicy' ? await deps.store.readCurrent(scope, 'AccessPolicy', target.id, tx) : undefined;
    if (!current || current.deleted) {
      throw outcomeError(status, status === 400 ? 'invalid' : 'conflict', `${reference.reference ?? 'The reference'} is not an AccessPolicy of this project`, expression);
    }
  }
}

export async function auditMemberAction(deps: MemberDeps, tx: Queryable, projectId: string, actor: AdminActor, action: AuditAction, membership: StoredMembership, description: string): Promise<void> {
  await recordAuditEvent(
    deps,
    {
      projectId,
      action,
      who: actor.who,
      ...(actor.onBehalfOf ? { onBehalfOf: actor.onBehalfOf } : {}),
      what: [{ reference: `ProjectMembership/${membership.id}` }, ...(membership.profile ? [membership.profile] : [])],
      description,
      ...(actor.remoteAddress ? { remoteAddress: actor.remoteAddress } : {}),
    },
    tx,
  );
}

/**
 * Removes a membership: a delete version (history kept), its search index rows gone, its
 * Logins revoked (so its tokens fail at once, as authenticate.ts also refuses a deleted
 * membership), the profile and the User kept. The owner's membership cannot be removed.
 */
export async function removeMember(deps: MemberDeps, actor: AdminActor, projectId: string, membershipId: string): Promise<{ revokedLogins: number }> {
  const scope = systemScope(projectId);
  return deps.db.transaction(async (tx) => {
    const { membership, removed } = await lockMember(deps, scope, tx, membershipId);
    if (removed) {
      throw outcomeError(409, 'conflict', `ProjectMembership/${membershipId} is already removed`);
    }
    const project = await loadProject(deps, projectId, tx);
    if (isOwnerMembership(project, membership)) {
      throw badRequest('Cannot delete the owner of the project');
    }
    await deps.store.writeVersion(scope, tx, {
      resourceType: 'ProjectMembership',
      id: membership.id,
      versionId: deps.random.uuid(),
      lastUpdated: deps.clock.now(),
      resource: membership,
      deleted: true,
      method: 'DELETE',
    });
    await deps.store.deleteSearchIndex(scope, tx, 'ProjectMembership', membership.id);
    const revokedLogins = await revokeMembershipLogins(deps, tx, membership);
    await auditMemberAction(deps, tx, projectId, actor, 'member-remove', membership, `Removed ProjectMembership/${membership.id} (${membership.profile?.reference ?? 'no profile'})`);
    return { revokedLogins };
  });
}

async function revokeMembershipLogins(deps: MemberDeps, tx: Queryable, membership: StoredMembership): Promise<number> {
  const account = splitReference(membership.user?.reference);
  if (!account) {
    return 0;
  }
  const serverScope = systemScope(SYSTEM_PROJECT_ID);
  const system = new SystemRepository(deps);
  let revoked = 0;
  for (const id of await deps.store.findOpenLoginsOfMembership(serverScope, tx, account, membership.id)) {
    const current = await deps.store.lockCurrent(serverScope, tx, 'Login', id);
    if (!current || current.deleted || !current.resource || (current.resource as Login).revoked) continue;
    await system.update<Login>(serverScope, { ...(current.resource as Login & { id: string }), revoked: true }, tx);
    revoked++;
  }
  return revoked;
}

/**
 * Brings a removed membership back as it was (its last version before the delete, same id).
 * Its old Logins stay revoked; the member signs in again. Refused (409) when it is not removed,
 * or when what it points to is gone: its profile, or an access policy.
 */
export async function restoreMember(deps: MemberDeps, actor: AdminActor, projectId: string, membershipId: string): Promise<StoredMembership> {
  const scope = systemScope(projectId);
  return deps.db.transaction(async (tx) => {
    const { membership, removed } = await lockMember(deps, scope, tx, membershipId);
    if (!removed) {
      throw outcomeError(409, 'conflict', `ProjectMembership/${membershipId} is not removed`);
    }
    // Locked, so a concurrent delete of the profile (which checks for active memberships under
    // the same lock) either sees this membership or is seen here.
    const profile = splitReference(membership.profile?.reference);
    const profileRow = profile && (await deps.store.lockCurrent(scope, tx, profile.resourceType, profile.id));
    if (!profileRow || profileRow.deleted) {
      throw outcomeError(409, 'conflict', `The profile ${membership.profile?.reference ?? ''} of this membership no longer exists`, 'profile');
    }
    await assertPoliciesInProject(deps, scope, tx, membership, 409);
    const restored = (await new SystemRepository(deps).update<ProjectMembership>(scope, membership, tx)) as StoredMembership;
    await auditMemberAction(deps, tx, projectId, actor, 'member-restore', restored, `Restored ProjectMembership/${membership.id}`);
    return restored;
  });
}
