/**
 * The admin endpoints the pages use (`/admin/projects/:projectId/...`), typed. Only the
 * public API: what a script with an admin's token could do.
 */
import type { MedplumClient } from '@medplum/core';
import type { Project, ProjectMembership, Reference } from '@medplum/fhirtypes';

export type InviteState = 'pending' | 'accepted';

/** One row of `GET /admin/projects/:projectId/members`. */
export interface MemberSummary {
  id: string;
  membership: ProjectMembership;
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
  next?: string;
}

export type MemberProfileType = 'Patient' | 'Practitioner' | 'RelatedPerson' | 'ClientApplication' | 'Bot';

export function projectPath(projectId: string, rest = ''): string {
  return `admin/projects/${encodeURIComponent(projectId)}${rest}`;
}

export async function readProject(medplum: MedplumClient, projectId: string): Promise<Project> {
  const body = await medplum.get<{ project: Project }>(projectPath(projectId), { cache: 'no-cache' });
  return body.project;
}

/** One page of members; `next` (an absolute URL from the server) reads the following page. */
export function readMembers(medplum: MedplumClient, projectId: string, profileType: MemberProfileType, removed: boolean, next?: string): Promise<MemberPage> {
  if (next) return medplum.get<MemberPage>(next, { cache: 'no-cache' });
  const query = new URLSearchParams({ profileType });
  if (removed) query.set('removed', 'true');
  return medplum.get<MemberPage>(`${projectPath(projectId, '/members')}?${query}`, { cache: 'no-cache' });
}

/** Every member of these profile types (all pages), for the tables and the member page. */
export async function readAllMembers(medplum: MedplumClient, projectId: string, types: MemberProfileType[], removed: boolean): Promise<MemberSummary[]> {
  const all: MemberSummary[] = [];
  for (const type of types) {
    let page = await readMembers(medplum, projectId, type, removed);
    all.push(...page.members);
    while (page.next) {
      page = await readMembers(medplum, projectId, type, removed, page.next);
      all.push(...page.members);
    }
  }
  return all;
}

export interface InviteBody {
  resourceType: 'Patient' | 'Practitioner' | 'RelatedPerson';
  firstName: string;
  lastName: string;
  email: string;
  sendEmail: boolean;
  membership: { accessPolicy?: Reference; admin: boolean };
  /** A RelatedPerson's patient. */
  patient?: Reference;
}

export function invite(medplum: MedplumClient, projectId: string, body: InviteBody): Promise<ProjectMembership> {
  return medplum.post(projectPath(projectId, '/invite'), body) as Promise<ProjectMembership>;
}

export function memberPath(projectId: string, membershipId: string, rest = ''): string {
  return projectPath(projectId, `/members/${encodeURIComponent(membershipId)}${rest}`);
}
