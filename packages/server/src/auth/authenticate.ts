/**
 * Bearer authentication for protected routes: verify the JWT, then load the Login, the
 * membership and its project in one query, so a revoked login, a removed or deactivated
 * membership takes effect on the very next request. Every failure is the same 401 to the
 * client (the reason goes to the log only).
 */
import type { AccessPolicy, Login, Project, ProjectMembership, Reference } from '@medplum/fhirtypes';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../db/database.js';
import { buildMemberPolicy, FULL_ACCESS_POLICY } from '../fhir/access-policy/load-policy.js';
import { assertIpAllowed } from '../fhir/access-policy/ip-rules.js';
import type { MemberPolicy, PatientNarrowing } from '../fhir/access-policy/member-policy.js';
import { OutcomeError, unauthorized } from '../fhir/outcomes.js';
import { SYSTEM_PROJECT_ID } from '../fhir/scope.js';
import { InvalidTokenError, verifyAccessToken, type TokenDeps } from './access-token.js';
import type { RequestContext } from './request-context.js';
import { parseScopes, patientNarrowingOf } from './smart-scopes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `authenticate` on protected routes. */
    ctx?: RequestContext;
  }
}

export interface AuthenticateDeps extends TokenDeps {
  db: Database;
}

interface Row {
  resource_type: string;
  deleted: boolean;
  content: Login | ProjectMembership | Project | AccessPolicy;
}

export function referenceId(ref: Reference | undefined, type: string): string | undefined {
  const value = ref?.reference;
  return value?.startsWith(`${type}/`) ? value.slice(type.length + 1) : undefined;
}

/** Resolves a bearer token to its RequestContext, or throws a 401 OutcomeError. */
export async function resolveBearer(deps: AuthenticateDeps, authorization: string | undefined): Promise<RequestContext> {
  const match = authorization?.match(/^Bearer\s+([A-Za-z0-9\-_.]+)\s*$/i);
  if (!match) {
    throw unauthorized('Missing or malformed Authorization header: expected "Bearer <access token>"');
  }
  let claims;
  try {
    claims = await verifyAccessToken(deps, match[1] as string);
  } catch (err) {
    if (err instanceof InvalidTokenError) {
      throw unauthorized(err.message);
    }
    throw err;
  }
  // One round trip: the Login, the membership, its project, the account acting (a User,
  // server-wide or project-scoped, or a ClientApplication or Bot of the project), each by key,
  // and the AccessPolicy resources the membership names (an uncorrelated ARRAY over the
  // membership's row, then a primary-key lookup; nothing when it names none).
  const { rows } = await deps.db.query<Row>(
    `SELECT resource_type, deleted, content FROM resource
      WHERE (project_id = $1 AND resource_type = 'Login' AND id = $2)
         OR (project_id = $3 AND resource_type = 'ProjectMembership' AND id = $4)
         OR (project_id = $3 AND resource_type = 'Project' AND id = $5)
         OR (project_id IN ($1, $3) AND resource_type IN ('User', 'ClientApplication', 'Bot') AND id = $6)
         OR (project_id = $3 AND resource_type = 'AccessPolicy' AND id = ANY(ARRAY(
              SELECT substr(ref, 14) FROM resource m,
                LATERAL (SELECT m.content->'accessPolicy'->>'reference' AS ref
                         UNION ALL SELECT a->'policy'->>'reference' FROM jsonb_array_elements(COALESCE(m.content->'access', '[]'::jsonb)) a) refs
               WHERE m.project_id = $3 AND m.resource_type = 'ProjectMembership' AND m.id = $4 AND ref LIKE 'AccessPolicy/%')))`,
    [SYSTEM_PROJECT_ID, claims.login_id, claims.project_id, claims.membership_id, claims.project_id, claims.sub],
    { name: 'tessera_auth_context' },
  );
  const find = (type: string): Row['content'] | undefined => rows.find((r) => r.resource_type === type && !r.deleted)?.content;
  const login = find('Login') as (Login & { id: string }) | undefined;
  if (!login || login.revoked) {
    throw unauthorized('Token revoked');
  }
  const projectId = claims.project_id;
  if (referenceId(login.project, 'Project') !== projectId || referenceId(login.membership, 'ProjectMembership') !== claims.membership_id) {
    throw unauthorized('Token does not match its login');
  }
  const membership = find('ProjectMembership') as (ProjectMembership & { id: string }) | undefined;
  const project = find('Project') as Project | undefined;
  if (!membership || membership.active === false || !project || !membership.profile) {
    throw unauthorized('Membership is no longer active');
  }
  // The account must still exist and be the membership's: deleting a User ends its tokens too.
  const [accountType, accountId] = (membership.user?.reference ?? '').split('/');
  const account = rows.find((r) => r.resource_type === accountType && (r.content as { id?: string }).id === accountId && !r.deleted);
  if (!account || accountId !== claims.sub || (account.content as { status?: string }).status === 'off') {
    throw unauthorized('The account of this token no longer exists');
  }
  const scopes = parseScopes(claims.scope ?? login.scope);
  const patientNarrowing = patientNarrowingOf(scopes, membership.profile);
  return {
    projectId,
    membership,
    login,
    profile: membership.profile,
    author: membership.user ?? { reference: `User/${claims.sub}` },
    admin: membership.admin === true,
    superAdmin: project.superAdmin === true,
    scopes,
    ...policyOf(projectId, membership, rows, patientNarrowing),
    ...(patientNarrowing ? { patientNarrowing } : {}),
  };
}

/**
 * The membership's effective policy, from the AccessPolicy rows the query found (a deleted one
 * contributes nothing). Under `patient/` scopes a membership without a policy gets the policy
 * that means the same, one `*` entry (Medplum's "null policy"): what a member may reach is the
 * same, and every path that treats "no policy" as "nothing to narrow" (history's) now narrows.
 */
function policyOf(projectId: string, membership: ProjectMembership, rows: Row[], patientNarrowing: PatientNarrowing | undefined): { policy?: MemberPolicy } {
  const policies = rows.filter((r) => r.resource_type === 'AccessPolicy' && !r.deleted).map((r) => r.content as AccessPolicy & { id: string });
  const policy = buildMemberPolicy(projectId, membership, policies) ?? (patientNarrowing ? FULL_ACCESS_POLICY : undefined);
  return policy ? { policy } : {};
}

/**
 * A Fastify hook that sets `request.ctx` or answers 401; 403 when the member's access policy
 * blocks the client's address (`ipAccessRule`, src/fhir/access-policy/ip-rules.ts).
 */
export function authenticate(deps: AuthenticateDeps) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    try {
      const ctx = await resolveBearer(deps, request.headers.authorization);
      assertIpAllowed(ctx.policy, request.ip);
      request.ctx = ctx;
    } catch (err) {
      // RFC 6750 section 3: a 401 names the scheme; with an error code only when a bearer token was sent.
      if (err instanceof OutcomeError && err.status === 401) {
        reply.header('WWW-Authenticate', /^Bearer\s/i.test(request.headers.authorization ?? '') ? 'Bearer error="invalid_token"' : 'Bearer');
      }
      throw err;
    }
  };
}
