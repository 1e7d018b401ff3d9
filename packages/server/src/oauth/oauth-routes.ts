/**
 * The `/oauth2/*` endpoints beyond token and logout: authorize, userinfo, revoke, introspect,
 * one file each. They share form bodies and RFC 6749 JSON errors (the authorize endpoint
 * answers its own failures with a page or a redirect).
 */
import type { FastifyInstance } from 'fastify';
import { authorizeRoutes } from './authorize-route.js';
import { acceptFormBodies } from './form-request.js';
import type { GrantDeps } from './grant-context.js';
import { introspectRoutes } from './introspect-route.js';
import { sendOAuthError } from './oauth-errors.js';
import { revokeRoutes } from './revoke-route.js';
import { userinfoRoutes } from './userinfo-route.js';

export async function oauthRoutes(app: FastifyInstance, options: { deps: GrantDeps }): Promise<void> {
  acceptFormBodies(app);
  app.setErrorHandler((error, request, reply) => sendOAuthError(error as Error, request, reply));
  // Only the deps: the options also hold this plugin's prefix, which must not apply twice.
  const { deps } = options;
  await app.register(authorizeRoutes, { deps });
  await app.register(userinfoRoutes, { deps });
  await app.register(revokeRoutes, { deps });
  await app.register(introspectRoutes, { deps });
}
