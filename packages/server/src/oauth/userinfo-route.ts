/**
 * `GET|POST /oauth2/userinfo` (OIDC Core 5.3): claims about the token's holder, by scope.
 * `sub` is the User's id (a client's own id for client_credentials tokens), the same `sub` as
 * in the id token and the access token, as OIDC requires (section 5.3.2). Medplum answers the
 * profile id here instead; we keep one subject everywhere, and give the profile as `fhirUser`.
 * Scopes: `profile` (name, given_name, family_name), `email` (email, email_verified),
 * `fhirUser` (absolute URL of the profile resource). The token must carry `openid`.
 */
import type { HumanName, Resource, User } from '@medplum/fhirtypes';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticateDeps } from '../auth/authenticate.js';
import type { RequestContext } from '../auth/request-context.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { bearerContext, sendInsufficientScope } from './bearer-errors.js';
import type { GrantDeps } from './grant-context.js';

export async function userinfoRoutes(app: FastifyInstance, options: { deps: GrantDeps & AuthenticateDeps }): Promise<void> {
  const { deps } = options;
  const userinfo = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const ctx = await bearerContext(deps, request, reply);
    if (!ctx) return;
    const scopes = new Set(ctx.scopes?.other ?? (ctx.login.scope ?? '').split(' '));
    if (!scopes.has('openid')) return sendInsufficientScope(reply, 'openid');
    reply.header('Cache-Control', 'no-store').send(await buildClaims(deps, ctx, scopes));
  };
  app.get('/userinfo', userinfo);
  app.post('/userinfo', userinfo);
}

async function buildClaims(deps: GrantDeps, ctx: RequestContext, scopes: Set<string>): Promise<Record<string, unknown>> {
  const [accountType, accountId] = (ctx.author.reference ?? '').split('/');
  const claims: Record<string, unknown> = { sub: accountId };
  const system = new SystemRepository(deps);
  const projectScope = systemScope(ctx.projectId);
  const user =
    accountType === 'User' && accountId
      ? ((await system.read<User>(systemScope(SYSTEM_PROJECT_ID), 'User', accountId)) ?? (await system.read<User>(projectScope, 'User', accountId)))
      : undefined;
  const profileRef = ctx.profile.reference ?? '';
  if (scopes.has('profile')) {
    const [type, id] = profileRef.split('/');
    const profile = type && id ? await system.read<Resource>(projectScope, type as Resource['resourceType'], id) : undefined;
    const name = (profile as { name?: HumanName[] } | undefined)?.name?.[0];
    const given = name?.given?.join(' ') || user?.firstName;
    const family = name?.family || user?.lastName;
    const full = [given, family].filter(Boolean).join(' ') || (profile as { name?: string } | undefined)?.name;
    if (typeof full === 'string' && full) claims.name = full;
    if (given) claims.given_name = given;
    if (family) claims.family_name = family;
  }
  if (scopes.has('email') && user?.email) {
    claims.email = user.email;
    claims.email_verified = user.emailVerified === true;
  }
  if ((scopes.has('fhirUser') || scopes.has('profile')) && profileRef) {
    claims.fhirUser = `${deps.issuer}fhir/R4/${profileRef}`;
  }
  return claims;
}
