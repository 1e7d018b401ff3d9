/**
 * The body of `POST /admin/projects/:projectId/invite` (Medplum's `InviteRequest`,
 * shared/reference/medplum-api.md section 1.2), checked at the edge: every problem is a 400
 * OperationOutcome whose `expression` names the field, before anything is read or written.
 *
 * Accepted as the seed guide's own example sends it: a repeated `resourceType` key (JSON.parse
 * keeps the last) and `"sendEmail": "false"` as a string. Unknown top-level keys are ignored, as
 * Medplum does, so scripts written for it keep working; the `membership` template is strict
 * (only the fields an invite may set), so `membership.project` or `membership.user` cannot be
 * smuggled in. What needs the database (does the policy, profile or patient belong to the
 * project?) is checked by the service, inside its transaction, before it writes.
 */
import type { ProjectMembership, ProjectMembershipAccess, Reference } from '@medplum/fhirtypes';
import { z } from 'zod';
import { passwordProblem } from '../auth/password-policy.js';
import { addressProblem } from '../email/mailer.js';
import { badRequest } from '../fhir/outcomes.js';
import { parseBody } from '../http/parse-body.js';

export const PROFILE_TYPES = ['Patient', 'Practitioner', 'RelatedPerson'] as const;
export type ProfileType = (typeof PROFILE_TYPES)[number];

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** A reference `<Type>/<id>` to a resource of one of `types` on this server. */
function localReference(types: readonly string[]) {
  return z.strictObject({
    reference: z.string().refine((v) => {
      const [type, id, ...rest] = v.split('/');
      return rest.length === 0 && types.includes(type ?? '') && ID.test(id ?? '');
    }, `must be a reference like ${types[0]}/<id>`),
    display: z.string().max(500).optional(),
  });
}

const name = z.string().trim().min(1, 'is required').max(200, 'is too long (200 characters at most)');

// A JSON boolean, or the strings "true"/"false" (the seed guide's curl sends "sendEmail":"false").
const looseBoolean = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'must be true or false' });

const accessEntry = z.strictObject({
  policy: localReference(['AccessPolicy']),
  parameter: z
    .array(
      z.strictObject({
        name: z.string().min(1, 'is required').max(200),
        valueString: z.string().max(1000).optional(),
        valueReference: z.object({ reference: z.string().max(200), display: z.string().max(500).optional() }).optional(),
      }),
    )
    .max(50)
    .optional(),
});

const membershipTemplate = z.strictObject({
  resourceType: z.literal('ProjectMembership').optional(),
  accessPolicy: localReference(['AccessPolicy']).optional(),
  access: z.array(accessEntry).max(50).optional(),
  admin: z.boolean().optional(),
  profile: localReference(PROFILE_TYPES).optional(),
  active: z.boolean().optional(),
  userName: z.string().min(1).max(256).optional(),
  externalId: z.string().min(1).max(256).optional(),
  userConfiguration: localReference(['UserConfiguration']).optional(),
});

const inviteSchema = z.object({
  resourceType: z.enum(PROFILE_TYPES, { error: 'must be Patient, Practitioner or RelatedPerson' }),
  firstName: name,
  lastName: name,
  email: z
    .string()
    .trim()
    .transform((v) => v.toLowerCase())
    .superRefine((v, ctx) => {
      const problem = addressProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: `${problem}` });
    })
    .optional(),
  externalId: z.string().min(1, 'must not be empty').max(256).optional(),
  scope: z.enum(['project', 'server'], { error: 'must be project or server' }).optional(),
  password: z.string().max(1024).optional(),
  sendEmail: looseBoolean.optional(),
  membership: membershipTemplate.optional(),
  upsert: z.boolean().optional(),
  forceNewMembership: z.boolean().optional(),
  mfaRequired: z.boolean().optional(),
  patient: localReference(['Patient']).optional(),
  accessPolicy: localReference(['AccessPolicy']).optional(),
  access: z.array(accessEntry).max(50).optional(),
  admin: z.boolean().optional(),
});

export type InviteBody = z.infer<typeof inviteSchema>;

/** What the invite service works from: the deprecated top-level fields folded into the template. */
export interface InviteInput {
  resourceType: ProfileType;
  firstName: string;
  lastName: string;
  email?: string;
  externalId?: string;
  /** Where the User lives: the project (project-scoped) or the whole server. */
  userScope: 'project' | 'server';
  password?: string;
  sendEmail: boolean;
  upsert: boolean;
  forceNewMembership: boolean;
  mfaRequired: boolean;
  patient?: Reference;
  /** Where the policies came from, for errors: the template's fields or the deprecated top-level ones. */
  policyFields: { accessPolicy: 'accessPolicy' | 'membership.accessPolicy'; access: 'access' | 'membership.access' };
  membership: Pick<ProjectMembership, 'accessPolicy' | 'access' | 'admin' | 'profile' | 'active' | 'userName' | 'externalId' | 'userConfiguration'>;
}

/**
 * Medplum's scope rule (section 3.1 step 2): project-scoped for a Patient unless `scope` is
 * `server`, for `scope: project`, and always when an `externalId` identifies the person.
 */
function userScopeOf(body: InviteBody): 'project' | 'server' {
  if (body.externalId || body.scope === 'project') return 'project';
  if (body.resourceType === 'Patient' && body.scope !== 'server') return 'project';
  return 'server';
}

/** Reads and checks an invite body; throws a 400 OperationOutcome naming the field. */
export function parseInviteBody(raw: unknown): InviteInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw badRequest('The body must be a JSON object');
  }
  const template = (raw as { membership?: unknown }).membership;
  if (template !== null && typeof template === 'object' && !Array.isArray(template)) {
    const unknown = Object.keys(template).find((k) => !(k in membershipTemplate.shape));
    if (unknown) throw badRequest(`${unknown} cannot be set by an invite`, `membership.${unknown}`);
  }
  const body = parseBody(inviteSchema, raw);
  if (!body.email && !body.externalId) {
    throw badRequest('Either email or externalId is required', ['email', 'externalId']);
  }
  if (body.password !== undefined) {
    const problem = passwordProblem(body.password, body.email);
    if (problem) throw badRequest(problem, 'password');
  }
  if (body.patient && body.resourceType !== 'RelatedPerson') {
    throw badRequest('patient is only for a RelatedPerson invite', 'patient');
  }
  const { resourceType: _resourceType, ...fields } = body.membership ?? {};
  const externalId = fields.externalId ?? body.externalId;
  return {
    resourceType: body.resourceType,
    firstName: body.firstName,
    lastName: body.lastName,
    ...(body.email ? { email: body.email } : {}),
    ...(externalId ? { externalId } : {}),
    userScope: userScopeOf({ ...body, ...(externalId ? { externalId } : {}) }),
    ...(body.password !== undefined ? { password: body.password } : {}),
    sendEmail: body.sendEmail ?? true,
    upsert: body.upsert ?? false,
    forceNewMembership: body.forceNewMembership ?? false,
    mfaRequired: body.mfaRequired ?? false,
    ...(body.patient ? { patient: body.patient } : {}),
    policyFields: {
      accessPolicy: fields.accessPolicy || !body.accessPolicy ? 'membership.accessPolicy' : 'accessPolicy',
      access: fields.access || !body.access ? 'membership.access' : 'access',
    },
    // The template wins over the deprecated top-level fields (Medplum applies it last).
    membership: {
      ...(body.accessPolicy ? { accessPolicy: body.accessPolicy as ProjectMembership['accessPolicy'] } : {}),
      ...(body.access ? { access: body.access as ProjectMembershipAccess[] } : {}),
      ...(body.admin !== undefined ? { admin: body.admin } : {}),
      ...(fields as InviteInput['membership']),
      ...(externalId ? { externalId } : {}),
    },
  };
}
