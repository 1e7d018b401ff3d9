/**
 * `POST /admin/projects/:projectId/members/:id`: an admin changes a membership by sending it
 * whole (Medplum's shape). Only `accessPolicy`, `access`, `admin`, `active`,
 * `userConfiguration`, `userName` and `externalId` change; what the body leaves out of these
 * is removed, as a PUT does. `project`, `user`, `profile` and `invitedBy` must stay as they
 * are, and so must every other field: a difference is a 400 naming the field (Medplum drops
 * such changes silently). Access policies must be this project's; the project owner's
 * membership keeps `admin` and `active`. Every field is checked before anything is written.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ProjectMembership } from '@medplum/fhirtypes';
import { z } from 'zod';
import { parseBody } from '../http/parse-body.js';
import { badRequest, notFound, outcomeError } from '../fhir/outcomes.js';
import { systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import {
  assertPoliciesInProject,
  auditMemberAction,
  isOwnerMembership,
  loadProject,
  lockMember,
  type AdminActor,
  type MemberDeps,
  type StoredMembership,
} from './members.js';

const ID = '[A-Za-z0-9\\-.]{1,64}';

function referenceTo(type: string) {
  return z
    .object({
      reference: z.string().regex(new RegExp(`^${type}/${ID}$`), `must be a reference to a ${type} ("${type}/<id>")`),
      display: z.string().max(1024).optional(),
    })
    .strict();
}

const parameter = z
  .object({
    name: z.string().min(1, 'is required').max(64),
    valueString: z.string().max(1024).optional(),
    valueReference: z.object({ reference: z.string().min(1).max(256), display: z.string().max(1024).optional() }).strict().optional(),
  })
  .strict();

/** The fields an admin may change, each with its type. */
const CHANGEABLE = {
  accessPolicy: referenceTo('AccessPolicy').optional(),
  access: z
    .array(z.object({ policy: referenceTo('AccessPolicy'), parameter: z.array(parameter).max(50).optional() }).strict())
    .max(50)
    .optional(),
  admin: z.boolean().optional(),
  active: z.boolean().optional(),
  userConfiguration: referenceTo('UserConfiguration').optional(),
  userName: z.string().min(1, 'must not be empty').max(256).optional(),
  externalId: z.string().min(1, 'must not be empty').max(256).optional(),
};
type ChangeableField = keyof typeof CHANGEABLE;
const CHANGEABLE_FIELDS = Object.keys(CHANGEABLE) as ChangeableField[];

const membershipBody = z.looseObject({
  resourceType: z.literal('ProjectMembership', 'must be "ProjectMembership"'),
  id: z.string('is required'),
  ...CHANGEABLE,
});

/** Ignored when sent: the server sets them. */
const SERVER_FIELDS = new Set(['resourceType', 'id', 'meta']);
/** Compared by reference: a different target is a 400. */
const FIXED_REFERENCES = ['project', 'user', 'profile', 'invitedBy'] as const;

/** The membership the body asks for, or a 400 naming the first field at fault. */
export function mergeMembershipChange(stored: StoredMembership, body: unknown, membershipId: string): StoredMembership {
  const parsed = parseBody(membershipBody, body) as Record<string, unknown>;
  if (parsed.id !== membershipId) {
    throw badRequest(`id "${String(parsed.id)}" does not match the URL's "${membershipId}"`, 'id');
  }
  const storedFields = stored as unknown as Record<string, unknown>;
  for (const field of FIXED_REFERENCES) {
    if (!(field in parsed)) continue;
    const sent = parsed[field] as { reference?: unknown } | null | undefined;
    if (typeof sent !== 'object' || sent === null || sent.reference !== (storedFields[field] as { reference?: string } | undefined)?.reference) {
      throw badRequest(`${field} cannot be changed`, field);
    }
  }
  for (const field of Object.keys(parsed)) {
    if (SERVER_FIELDS.has(field) || (FIXED_REFERENCES as readonly string[]).includes(field) || field in CHANGEABLE) continue;
    if (!isDeepStrictEqual(parsed[field], storedFields[field])) {
      throw badRequest(`${field} cannot be changed through this endpoint`, field);
    }
  }
  const next: Record<string, unknown> = { ...storedFields };
  for (const field of CHANGEABLE_FIELDS) {
    if (parsed[field] === undefined) delete next[field];
    else next[field] = parsed[field];
  }
  return next as unknown as StoredMembership;
}

export async function updateMember(deps: MemberDeps, actor: AdminActor, projectId: string, membershipId: string, body: unknown): Promise<StoredMembership> {
  const scope = systemScope(projectId);
  return deps.db.transaction(async (tx) => {
    const { membership, removed } = await lockMember(deps, scope, tx, membershipId);
    if (removed) {
      throw notFound(`ProjectMembership/${membershipId} was removed; restore it first`);
    }
    const next = mergeMembershipChange(membership, body, membershipId);
    const project = await loadProject(deps, projectId, tx);
    if (isOwnerMembership(project, membership)) {
      if (next.admin !== true) throw badRequest('The project owner must stay an admin', 'admin');
      if (next.active === false) throw badRequest('The project owner cannot be deactivated', 'active');
    }
    await assertPoliciesInProject(deps, scope, tx, next, 400);
    if (next.active !== false && membership.active === false) {
      // Reactivated: its profile must still be there (deleting it was allowed while inactive).
      const [type, id] = (next.profile?.reference ?? '').split('/');
      const profile = type && id ? await deps.store.lockCurrent(scope, tx, type, id) : undefined;
      if (!profile || profile.deleted) {
        throw outcomeError(409, 'conflict', `The profile ${next.profile?.reference ?? ''} of this membership no longer exists`, 'active');
      }
    }
    const written = (await new SystemRepository(deps).update<ProjectMembership>(scope, next, tx)) as StoredMembership;
    await auditMemberAction(deps, tx, projectId, actor, 'member-update', written, describeChange(membership, written));
    return written;
  });
}

function describeChange(before: ProjectMembership, after: ProjectMembership): string {
  const changed = CHANGEABLE_FIELDS.filter((f) => !isDeepStrictEqual(before[f], after[f]));
  return `Changed ProjectMembership/${(after as StoredMembership).id}: ${changed.length > 0 ? changed.join(', ') : 'nothing'}`;
}
