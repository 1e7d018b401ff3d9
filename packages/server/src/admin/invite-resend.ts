/**
 * `POST /admin/projects/:projectId/members/:id/resend-invite` (beyond Medplum): a new
 * set-password link for a member who has not set a password yet, for when the first mail was
 * lost or its link expired. The user's older open links stop working, so only the newest one
 * mailed is usable. In one transaction that holds the User's row (two resends cannot leave
 * two open links); the mail goes out after commit.
 */
import type { ProjectMembership, Project, User } from '@medplum/fhirtypes';
import { recordAuditEvent } from '../audit/audit-log.js';
import { createInviteRequest, retireOpenRequests } from '../auth/security-requests.js';
import { isValidId } from '../fhir/ids.js';
import { badRequest, notFound, outcomeError } from '../fhir/outcomes.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import type { InviteMail } from './invite-mail.js';
import type { InviteDeps, Inviter } from './invite-service.js';

export async function resendInvite(deps: InviteDeps, inviter: Inviter, projectId: string, membershipId: string): Promise<InviteMail> {
  if (!isValidId(membershipId)) throw notFound(`ProjectMembership ${membershipId.slice(0, 80)} not found`);
  const system = new SystemRepository(deps);
  const scope = systemScope(projectId);
  return deps.db.transaction(async (tx) => {
    const project = await system.read<Project>(scope, 'Project', projectId, tx);
    const membership = project && (await system.read<ProjectMembership>(scope, 'ProjectMembership', membershipId, tx));
    if (!project || !membership) throw notFound(`ProjectMembership ${membershipId} not found`);
    const [type, userId] = (membership.user?.reference ?? '').split('/');
    if (type !== 'User' || !userId) throw outcomeError(409, 'conflict', 'This member is a client or bot, which has no invite');
    // The User's row, locked: project-scoped Users live in the project, server-wide ones in the system project.
    let userProjectId = projectId;
    let current = await deps.store.lockCurrent(scope, tx, 'User', userId);
    if (!current) {
      userProjectId = SYSTEM_PROJECT_ID;
      current = await deps.store.lockCurrent(systemScope(SYSTEM_PROJECT_ID), tx, 'User', userId);
    }
    const user = current && !current.deleted ? (current.resource as User & { id: string }) : undefined;
    if (!user) throw notFound('The member\'s user no longer exists');
    if (user.passwordHash) throw outcomeError(409, 'conflict', 'The user has already set a password: there is no invite to resend');
    if (!user.email) throw badRequest('The user has no email address to send the invite to');

    await retireOpenRequests(deps, tx, user.id);
    const link = await createInviteRequest(deps, user.id, { lifetimeSeconds: deps.inviteLinkLifetimeSeconds }, tx);
    await recordAuditEvent(
      deps,
      {
        projectId,
        action: 'invite-resend',
        who: inviter.ctx.author,
        onBehalfOf: inviter.ctx.profile,
        what: [{ reference: `ProjectMembership/${membership.id}` }, { reference: `User/${user.id}` }],
        outcome: 'success',
        description: `Sent a new invite link to ${user.email} (user in ${userProjectId === SYSTEM_PROJECT_ID ? 'server' : 'project'} scope)`,
        ...(inviter.remoteAddress ? { remoteAddress: inviter.remoteAddress } : {}),
      },
      tx,
    );
    return {
      to: user.email,
      projectId,
      projectName: project.name ?? 'a project',
      firstName: user.firstName,
      baseUrl: deps.baseUrl,
      setPasswordUrl: link.url,
      expiresAt: link.expiresAt,
    };
  });
}
