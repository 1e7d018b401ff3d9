/**
 * A new project with its owner as the first admin: the Project, a Practitioner profile from
 * the owner's name and email, and an admin membership. Used by registration
 * (`/auth/newproject`) and by the super-admin bootstrap. Runs inside the caller's transaction.
 * Unlike Medplum, no default ClientApplication is made; clients are created when wanted.
 */
import type { Practitioner, Project, ProjectMembership, User } from '@medplum/fhirtypes';
import type { Queryable } from '../db/database.js';
import { systemScope } from '../fhir/scope.js';
import type { SystemRepository } from '../fhir/system-repository.js';

export interface NewProject {
  projectId: string;
  name: string;
  owner: User & { id: string };
  superAdmin?: boolean;
}

export async function createProjectWithOwner(
  system: SystemRepository,
  tx: Queryable,
  input: NewProject,
): Promise<{ project: Project & { id: string }; membership: ProjectMembership & { id: string }; profile: Practitioner & { id: string } }> {
  const { owner, projectId } = input;
  const scope = systemScope(projectId);
  const project = await system.create<Project>(
    scope,
    { resourceType: 'Project', id: projectId, name: input.name, owner: { reference: `User/${owner.id}` }, ...(input.superAdmin ? { superAdmin: true } : {}) },
    tx,
  );
  const profile = await system.create<Practitioner>(
    scope,
    {
      resourceType: 'Practitioner',
      name: [{ given: [owner.firstName], family: owner.lastName }],
      ...(owner.email ? { telecom: [{ system: 'email', use: 'work', value: owner.email }] } : {}),
    },
    tx,
  );
  const membership = await system.create<ProjectMembership>(
    scope,
    {
      resourceType: 'ProjectMembership',
      project: { reference: `Project/${projectId}`, display: input.name },
      user: { reference: `User/${owner.id}`, display: owner.email },
      profile: { reference: `Practitioner/${profile.id}`, display: `${owner.firstName} ${owner.lastName}` },
      admin: true,
      active: true,
    },
    tx,
  );
  return { project, membership, profile };
}
