/**
 * The invite (issue 5; Medplum's algorithm in shared/reference/medplum-api.md section 3.1),
 * in ONE database transaction: find or create the User (email compared lower-cased; a
 * server-wide User lives in the system project, a project-scoped one in the project), find or
 * create the profile, create or (with `upsert`) update the ProjectMembership, make the
 * set-password link, and record the AuditEvent. Invites of the same person are serialised by
 * transaction-scoped advisory locks (invite-lookups.ts), so concurrent invites of one email
 * make one User and one membership; the others see it and answer 409 (or update, with upsert).
 *
 * Deliberately not like Medplum: a new User gets no random password (it has none until the
 * link is used, which is what "pending" means, and what resend-invite checks); `password` is
 * applied to a new User only, never to an existing one (that would let an admin of any project
 * take over a server-wide account); a set-password link is made only when it will be mailed.
 * The mail goes out after commit (invite-mail.ts).
 */
import type { Patient, Practitioner, Project, ProjectMembership, Reference, RelatedPerson, Resource, User } from '@medplum/fhirtypes';
import { lockKeys } from '../db/advisory-locks.js';
import type { Queryable } from '../db/database.js';
import { recordAuditEvent } from '../audit/audit-log.js';
import type { RequestContext } from '../auth/request-context.js';
import { createInviteRequest } from '../auth/security-requests.js';
import { badRequest, notFound, outcomeError } from '../fhir/outcomes.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import type { AdminDeps } from './admin-routes.js';
import type { InviteInput } from './invite-input.js';
import { InviteLookups, inviteLockKeys, userProjectOf } from './invite-lookups.js';
import type { InviteMail } from './invite-mail.js';

type Stored<T> = T & { id: string };
type Profile = Patient | Practitioner | RelatedPerson;

export type InviteDeps = Pick<AdminDeps, 'db' | 'store' | 'clock' | 'random' | 'hasher' | 'baseUrl' | 'inviteLinkLifetimeSeconds'>;

/** Who invites: the admin's context, and where the request came from (for the audit log). */
export interface Inviter {
  ctx: RequestContext;
  remoteAddress?: string;
}

export interface InviteResult {
  membership: Stored<ProjectMembership>;
  /** `created`: this invite made the membership; `updated`: `upsert` changed an existing one; `exists`: left as it was (bulk invite). */
  outcome: 'created' | 'updated' | 'exists';
  /** The mail to send once committed, or undefined when none is due. */
  mail?: InviteMail;
}

const conflict = (text: string, expression?: string): Error => outcomeError(409, 'conflict', text, expression);

function refId(ref: Reference | undefined, type: string): string | undefined {
  const [t, id] = (ref?.reference ?? '').split('/');
  return t === type && id ? id : undefined;
}

/** The references the invite names must point into this project (read inside the transaction, so nothing is written when they do not). */
async function checkReferences(system: SystemRepository, tx: Queryable, projectId: string, input: InviteInput): Promise<Stored<Profile> | undefined> {
  const scope = systemScope(projectId);
  const policies: Array<[Reference, string]> = [];
  if (input.membership.accessPolicy) policies.push([input.membership.accessPolicy, input.policyFields.accessPolicy]);
  (input.membership.access ?? []).forEach((a, i) => policies.push([a.policy, `${input.policyFields.access}.${i}.policy`]));
  for (const [ref, expression] of policies) {
    const id = refId(ref, 'AccessPolicy') as string;
    if (!(await system.read(scope, 'AccessPolicy', id, tx))) throw badRequest(`Access policy ${id} does not exist in this project`, expression);
  }
  if (input.membership.userConfiguration) {
    const id = refId(input.membership.userConfiguration, 'UserConfiguration') as string;
    if (!(await system.read(scope, 'UserConfiguration', id, tx))) throw badRequest(`UserConfiguration ${id} does not exist in this project`, 'membership.userConfiguration');
  }
  if (input.patient) {
    const id = refId(input.patient, 'Patient') as string;
    if (!(await system.read(scope, 'Patient', id, tx))) throw badRequest(`Patient ${id} does not exist in this project`, 'patient');
  }
  if (!input.membership.profile) return undefined;
  const [type, id] = (input.membership.profile.reference as string).split('/') as [string, string];
  if (type !== input.resourceType) throw badRequest(`The profile must be a ${input.resourceType}, as resourceType says`, 'membership.profile');
  const profile = await system.read<Profile>(scope, type as Profile['resourceType'], id, tx);
  if (!profile) throw badRequest(`${type}/${id} does not exist in this project`, 'membership.profile');
  return profile;
}

/** A new User in its scope; the admin's password, when given, hashed with argon2id. */
async function createUser(deps: InviteDeps, system: SystemRepository, tx: Queryable, projectId: string, input: InviteInput): Promise<Stored<User>> {
  const userProjectId = input.userScope === 'project' ? projectId : SYSTEM_PROJECT_ID;
  const passwordHash = input.password !== undefined ? await deps.hasher.hash(input.password) : undefined;
  return system.create<User>(
    systemScope(userProjectId),
    {
      resourceType: 'User',
      firstName: input.firstName,
      lastName: input.lastName,
      ...(input.email ? { email: input.email } : {}),
      ...(input.userScope === 'project' ? { project: { reference: `Project/${projectId}` } } : {}),
      ...(passwordHash ? { passwordHash } : {}),
      ...(input.mfaRequired ? { mfaRequired: true } : {}),
    },
    tx,
  );
}

/** The profile: the one named in the template, else the project's profile of that type with this email, else a new one. */
async function findOrCreateProfile(system: SystemRepository, tx: Queryable, lookups: InviteLookups, projectId: string, input: InviteInput, named: Stored<Profile> | undefined): Promise<Stored<Profile>> {
  if (named) return named;
  if (input.email) {
    const existing = await lookups.profileByEmail(input.resourceType, input.email);
    if (existing) return existing as Stored<Profile>;
  }
  if (input.resourceType === 'RelatedPerson' && !input.patient) {
    throw badRequest('A RelatedPerson needs the Patient they are related to', 'patient');
  }
  const resource = {
    resourceType: input.resourceType,
    name: [{ given: [input.firstName], family: input.lastName }],
    ...(input.email ? { telecom: [{ system: 'email', use: 'work', value: input.email }] } : {}),
    ...(input.resourceType === 'RelatedPerson' ? { patient: { reference: input.patient?.reference } } : {}),
  } as Profile;
  return system.create<Profile>(systemScope(projectId), resource, tx);
}

/** The User a membership points at: project-scoped in the project, or server-wide. */
async function readUser(system: SystemRepository, tx: Queryable, projectId: string, ref: Reference | undefined): Promise<Stored<User>> {
  const id = refId(ref, 'User');
  const user = id && ((await system.read<User>(systemScope(projectId), 'User', id, tx)) ?? (await system.read<User>(systemScope(SYSTEM_PROJECT_ID), 'User', id, tx)));
  if (!user) throw conflict('The member with this externalId is not a user', 'externalId');
  return user;
}

function displayName(input: InviteInput): string {
  return `${input.firstName} ${input.lastName}`;
}

/** 404 unless the project exists (a super admin may name any id). */
export async function requireProject(deps: InviteDeps, projectId: string): Promise<Stored<Project>> {
  const project = await new SystemRepository(deps).read<Project>(systemScope(projectId), 'Project', projectId);
  if (!project) throw notFound(`Project ${projectId} not found`);
  return project;
}

export interface InviteOptions {
  /**
   * An existing membership (same email, or same externalId without an email) is answered as
   * `exists` with that membership and nothing written, instead of 409: bulk invites are
   * idempotent, so a file can be run again after a partial failure.
   */
  reportExisting?: boolean;
  /** The project, already read (a bulk invite reads it once, not for each row). */
  project?: Stored<Project>;
  /** The lookups to use (a bulk invite's, prefetched for its chunk); by default, this invite's own. */
  lookups?: InviteLookups;
  /** The transaction already holds this person's advisory locks (a bulk invite takes a chunk's at once). */
  locked?: boolean;
}

interface Existing {
  user?: Stored<User>;
  membership?: Stored<ProjectMembership>;
  /** Set when the invite ends here: the person is already a member and `reportExisting` asked to say so. */
  exists?: Stored<ProjectMembership>;
}

/**
 * Who the invite is about, as the database has them: the User (by email, in its scope) and
 * their membership of the project. Throws the 409s of Medplum's rules: already a member
 * (also through the other scope's User with the same email, unless `forceNewMembership`), or
 * an externalId another member holds. Without an email and with `upsert`, the externalId's
 * membership is the one to update.
 */
async function findExisting(system: SystemRepository, tx: Queryable, lookups: InviteLookups, projectId: string, userProjectId: string, input: InviteInput, options: InviteOptions): Promise<Existing> {
  const users = input.email ? await lookups.usersByEmail(input.email) : new Map<string, Stored<User>>();
  if (input.email && !input.forceNewMembership) {
    const other = users.get(userProjectId === SYSTEM_PROJECT_ID ? projectId : SYSTEM_PROJECT_ID);
    const [theirs] = other ? await lookups.membershipsOfUser(other.id) : [];
    if (theirs && options.reportExisting) return { exists: theirs };
    if (theirs) throw conflict('User is already a member of this project', 'email');
  }
  let user = users.get(userProjectId);
  let membership = user && !input.forceNewMembership ? (await lookups.membershipsOfUser(user.id))[0] : undefined;
  if (input.externalId) {
    const holder = await lookups.membershipByExternalId(input.externalId);
    if (holder && holder.id !== membership?.id) {
      const sameAsHolder = !input.email && !input.forceNewMembership;
      if (sameAsHolder && !input.upsert && options.reportExisting) return { exists: holder };
      if (!sameAsHolder || !input.upsert) throw conflict(`A member with externalId ${input.externalId} already exists in this project`, 'externalId');
      membership = holder;
      user = await readUser(system, tx, projectId, holder.user);
    }
  }
  if (membership && !input.upsert) {
    if (options.reportExisting) return { exists: membership };
    throw conflict('User is already a member of this project', 'email');
  }
  return { ...(user ? { user } : {}), ...(membership ? { membership } : {}) };
}

/** Runs the invite in one transaction; the caller sends `result.mail` after it resolves. */
export async function inviteMember(deps: InviteDeps, inviter: Inviter, projectId: string, input: InviteInput, options: InviteOptions = {}): Promise<InviteResult> {
  return deps.db.transaction((tx) => inviteMemberIn(deps, tx, inviter, projectId, input, options));
}

/**
 * The invite inside the caller's transaction `tx` (a bulk invite runs a chunk of rows in one).
 * It writes only through `deps.store`, so a bulk invite can hold its writes and drop those of
 * a row that fails.
 */
export async function inviteMemberIn(deps: InviteDeps, tx: Queryable, inviter: Inviter, projectId: string, input: InviteInput, options: InviteOptions = {}): Promise<InviteResult> {
  const system = new SystemRepository(deps);
  const project = options.project ?? (await system.read<Project>(systemScope(projectId), 'Project', projectId, tx));
  if (!project) throw notFound(`Project ${projectId} not found`);
  const userProjectId = userProjectOf(projectId, input);
  if (!options.locked) await lockKeys(tx, inviteLockKeys(projectId, userProjectId, input));
  const lookups = options.lookups ?? new InviteLookups(deps.store, tx, projectId);
  const namedProfile = await checkReferences(system, tx, projectId, input);
  const { user: existingUser, membership: existingMembership, exists } = await findExisting(system, tx, lookups, projectId, userProjectId, input, options);
  if (exists) return { membership: exists, outcome: 'exists' };

  const user = existingUser ?? (await createUser(deps, system, tx, projectId, input));
  let profileRef: ProjectMembership['profile'];
  if (existingMembership && !namedProfile) {
    // An upsert keeps the member's profile unless the template names another.
    profileRef = existingMembership.profile;
  } else {
    const profile = await findOrCreateProfile(system, tx, lookups, projectId, input, namedProfile);
    profileRef = { reference: `${profile.resourceType}/${profile.id}`, display: displayName(input) } as ProjectMembership['profile'];
  }
  if (existingMembership && existingMembership.profile?.reference !== profileRef.reference) {
    throw conflict('User is already a member of this project with a different profile', 'membership.profile');
  }

  const { profile: _named, ...template } = input.membership;
  const pinned = {
    resourceType: 'ProjectMembership' as const,
    project: { reference: `Project/${projectId}`, ...(project.name ? { display: project.name } : {}) },
    user: { reference: `User/${user.id}`, ...(user.email ? { display: user.email } : {}) },
    profile: profileRef,
  };
  const invitedBy = inviter.ctx.author.reference?.startsWith('User/') ? { invitedBy: { reference: inviter.ctx.author.reference } } : {};
  const membership = existingMembership
    ? await system.update<ProjectMembership>(systemScope(projectId), { ...existingMembership, ...template, ...pinned, id: existingMembership.id }, tx)
    : await system.create<ProjectMembership>(systemScope(projectId), { active: true, ...invitedBy, ...template, ...pinned }, tx);

  let mail: InviteMail | undefined;
  if (input.email && input.sendEmail) {
    mail = { to: input.email, projectId, projectName: project.name ?? 'a project', firstName: user.firstName ?? input.firstName, baseUrl: deps.baseUrl };
    if (!user.passwordHash) {
      const link = await createInviteRequest(deps, user.id, { lifetimeSeconds: deps.inviteLinkLifetimeSeconds }, tx);
      mail = { ...mail, setPasswordUrl: link.url, expiresAt: link.expiresAt };
    }
  }

  await recordAuditEvent(
    deps,
    {
      projectId,
      action: 'invite',
      who: inviter.ctx.author,
      onBehalfOf: inviter.ctx.profile,
      what: [{ reference: `ProjectMembership/${membership.id}` }, { reference: profileRef.reference as string }, { reference: `User/${user.id}` }] as Reference<Resource>[],
      outcome: 'success',
      description: `${existingMembership ? 'Updated the membership of' : 'Invited'} ${input.email ?? input.externalId} as ${input.resourceType}`,
      ...(inviter.remoteAddress ? { remoteAddress: inviter.remoteAddress } : {}),
    },
    tx,
  );
  return { membership, outcome: existingMembership ? 'updated' : 'created', ...(mail ? { mail } : {}) };
}
