/**
 * `GET /auth/me`: who the token's holder is, in Medplum's shape, so MedplumClient can load its
 * profile: the project, the membership, the full profile resource, a default configuration
 * and the user's other active memberships. Secrets never appear.
 */
import type { Project, Resource, User } from '@medplum/fhirtypes';
import type { RequestContext } from './request-context.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { activeMemberships, type LoginFlowDeps } from './login-flow.js';
import { referenceId } from './authenticate.js';

export async function buildMe(deps: LoginFlowDeps, ctx: RequestContext): Promise<Record<string, unknown>> {
  const system = new SystemRepository(deps);
  const scope = systemScope(ctx.projectId);
  const project = await system.read<Project>(scope, 'Project', ctx.projectId);
  const [profileType, profileId] = (ctx.profile.reference ?? '').split('/');
  const profile = profileType && profileId ? await system.read<Resource>(scope, profileType as Resource['resourceType'], profileId) : undefined;
  const userId = referenceId(ctx.membership.user, 'User');
  const user = userId ? ((await system.read<User>(systemScope(SYSTEM_PROJECT_ID), 'User', userId)) ?? (await system.read<User>(scope, 'User', userId))) : undefined;
  const memberships = userId ? await activeMemberships(deps, userId) : [];
  return {
    project: {
      resourceType: 'Project',
      id: ctx.projectId,
      name: project?.name,
      ...(project?.description ? { description: project.description } : {}),
      ...(project?.superAdmin ? { superAdmin: true } : {}),
    },
    membership: {
      resourceType: 'ProjectMembership',
      id: ctx.membership.id,
      user: ctx.membership.user,
      profile: ctx.membership.profile,
      admin: ctx.membership.admin === true,
    },
    profile,
    // Beyond Medplum's shape: the account's own names and email (never its secrets).
    ...(user ? { user: { resourceType: 'User', id: user.id, firstName: user.firstName, lastName: user.lastName, email: user.email } } : {}),
    config: { resourceType: 'UserConfiguration', menu: [] },
    security: {
      mfaEnrolled: user?.mfaEnrolled === true,
      memberships: memberships.map((m) => ({ resourceType: 'ProjectMembership', id: m.id, profile: m.profile, admin: m.admin === true, project: m.project })),
    },
  };
}
