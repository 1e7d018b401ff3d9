/**
 * `POST /oauth2/introspect` (RFC 7662; SMART token introspection): for a resource server that
 * is a confidential client of this server, authenticated by its secret (Basic or form). A
 * bearer token is not accepted as the caller's credential: introspection is a back-channel
 * call between a resource server and this server, and a resource server has a client of its
 * own; an access token in that slot would let any token holder probe other tokens.
 *
 * A token is active only when using it would succeed now: for an access token, exactly the
 * check every FHIR request makes (signature, `typ`, expiry, Login not revoked, membership
 * active, account present); for a refresh token, the check the refresh grant makes. And only
 * for the caller's own project: a client never learns about tokens of another tenant. Every
 * other answer is `{"active": false}` and nothing more (section 2.2).
 */
import type { Login, ProjectMembership } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { OAuthError } from '../auth/auth-errors.js';
import { referenceId, resolveBearer } from '../auth/authenticate.js';
import { secretMatches } from '../auth/secrets.js';
import { verifyRefreshToken } from '../auth/token-set.js';
import { OutcomeError } from '../fhir/outcomes.js';
import { systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { readClientCredentials, readForm, requireAuthenticatedClient } from './form-request.js';
import { serverScope, type GrantDeps } from './grant-context.js';
import { findTokenLogin } from './token-owner.js';

type Introspection = Record<string, unknown> & { active: boolean };
const INACTIVE: Introspection = { active: false };

export async function introspectRoutes(app: FastifyInstance, options: { deps: GrantDeps }): Promise<void> {
  const { deps } = options;
  app.post('/introspect', async (request, reply) => {
    const params = readForm(request);
    const caller = await requireAuthenticatedClient(deps, readClientCredentials(request, params));
    if (!params.token) throw new OAuthError('invalid_request', 'Missing token');
    const owned = await findTokenLogin(deps, params.token, params.token_type_hint);
    let answer = INACTIVE;
    if (owned?.kind === 'access_token') answer = await introspectAccessToken(deps, params.token, caller.projectId);
    if (owned?.kind === 'refresh_token') answer = await introspectRefreshToken(deps, params.token, caller.projectId);
    reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache').send(answer);
  });
}

async function introspectAccessToken(deps: GrantDeps, token: string, callerProjectId: string): Promise<Introspection> {
  let ctx;
  try {
    ctx = await resolveBearer(deps, `Bearer ${token}`);
  } catch (err) {
    if (err instanceof OutcomeError && err.status === 401) return INACTIVE;
    throw err;
  }
  if (ctx.projectId !== callerProjectId) return INACTIVE;
  // Verified just above by resolveBearer; decoding now only reads the times and client.
  const claims = decodeJwt(token);
  const scope = typeof claims.scope === 'string' ? { scope: claims.scope } : {};
  return activeAnswer(deps, ctx.login, ctx.membership, { ...scope, exp: claims.exp, iat: claims.iat, token_type: 'Bearer' });
}

async function introspectRefreshToken(deps: GrantDeps, token: string, callerProjectId: string): Promise<Introspection> {
  const presented = await verifyRefreshToken(deps, token);
  if (!presented) return INACTIVE;
  const system = new SystemRepository(deps);
  const login = await system.read<Login>(serverScope, 'Login', presented.loginId);
  if (!login || login.revoked || !login.granted || !secretMatches(presented.secret, login.refreshSecret)) return INACTIVE;
  const projectId = referenceId(login.project, 'Project');
  const membershipId = referenceId(login.membership, 'ProjectMembership');
  if (!projectId || !membershipId || projectId !== callerProjectId) return INACTIVE;
  const membership = await system.read<ProjectMembership>(systemScope(projectId), 'ProjectMembership', membershipId);
  if (!membership || membership.active === false) return INACTIVE;
  const claims = decodeJwt(token);
  return activeAnswer(deps, login, membership, { exp: claims.exp, iat: claims.iat });
}

function activeAnswer(deps: GrantDeps, login: Login, membership: ProjectMembership, times: Record<string, unknown>): Introspection {
  const clientId = referenceId(login.client, 'ClientApplication');
  const sub = (membership.user?.reference ?? '').split('/')[1];
  const profile = membership.profile?.reference ?? '';
  return {
    active: true,
    scope: login.scope ?? 'openid',
    ...(clientId ? { client_id: clientId } : {}),
    sub,
    iss: deps.issuer,
    ...times,
    ...(profile ? { fhirUser: `${deps.issuer}fhir/R4/${profile}` } : {}),
    ...(profile.startsWith('Patient/') ? { patient: profile.slice('Patient/'.length) } : {}),
  };
}
