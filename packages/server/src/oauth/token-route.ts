/**
 * `POST /oauth2/token` (RFC 6749 section 3.2): a form-encoded body, each parameter once, the
 * grant chosen from a map. Client credentials come from HTTP Basic or the form (not both);
 * when a secret is sent it is verified before any grant runs. Errors are RFC 6749 JSON.
 */
import type { FastifyInstance } from 'fastify';
import { OAuthError } from '../auth/auth-errors.js';
import { authorizationCodeGrant } from './grants/authorization-code.js';
import { clientCredentialsGrant } from './grants/client-credentials.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import type { Grant, GrantDeps, GrantRequest } from './grant-context.js';
import { sendOAuthError } from './oauth-errors.js';
import { verifyClientSecret } from './client-auth.js';
import { acceptFormBodies, readClientCredentials, readForm } from './form-request.js';

const grants: Record<string, Grant> = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
  client_credentials: clientCredentialsGrant,
};

/** The grant types `/oauth2/token` serves, for the discovery documents. */
export const GRANT_TYPES = Object.keys(grants);

export async function tokenRoutes(app: FastifyInstance, options: { deps: GrantDeps }): Promise<void> {
  acceptFormBodies(app);
  app.setErrorHandler((error, request, reply) => sendOAuthError(error as Error, request, reply));

  app.post('/token', async (request, reply) => {
    const params = readForm(request);
    const grantType = params.grant_type;
    if (!grantType) throw new OAuthError('invalid_request', 'Missing grant_type');
    const grant = Object.hasOwn(grants, grantType) ? grants[grantType] : undefined;
    if (!grant) throw new OAuthError('unsupported_grant_type', `Unsupported grant_type "${grantType.slice(0, 100)}"`);
    const grantRequest: GrantRequest = { params, client: readClientCredentials(request, params), remoteAddress: request.ip };
    if (grantRequest.client?.secret !== undefined) {
      await verifyClientSecret(options.deps, grantRequest.client.id, grantRequest.client.secret);
    }
    const tokens = await grant(options.deps, grantRequest);
    // RFC 6749 section 5.1: token responses are never cached.
    reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache').send(tokens);
  });
}
