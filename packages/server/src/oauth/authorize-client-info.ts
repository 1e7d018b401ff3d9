/**
 * `GET /oauth2/client-info?<authorization request>`: what the web app's `/oauth` page shows
 * before the user signs in. It runs the authorize endpoint's own check on the parameters and
 * answers the client's name, the scope as checked, the redirect URI (now known to be one the
 * client registered) and the issuer, which the page adds to its response as `iss` (RFC 9207).
 *
 * It reveals nothing secret: only a client's name, and only to a caller that already holds its
 * id and one of its registered redirect URIs. It grants nothing either: `/auth/login` checks the
 * same request again before it issues a code (never trusting the page).
 * Failures are RFC 6749-style JSON (`error`, `error_description`), all with status 400.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthorizePageError, AuthorizeRedirectError, checkAuthorizeRequest, type AuthorizeCheckDeps } from './authorize-request.js';
import { parseFormText } from './form-request.js';

export interface ClientInfo {
  client_id: string;
  client_name: string;
  redirect_uri: string;
  scope: string;
  issuer: string;
}

function queryOf(request: FastifyRequest): string {
  const at = request.url.indexOf('?');
  return at < 0 ? '' : request.url.slice(at + 1);
}

export async function clientInfoRoutes(app: FastifyInstance, options: { deps: AuthorizeCheckDeps }): Promise<void> {
  const { deps } = options;
  app.get('/client-info', async (request, reply) => {
    reply.header('Cache-Control', 'no-store');
    try {
      const authz = await checkAuthorizeRequest(deps, parseFormText(queryOf(request)));
      const info: ClientInfo = {
        client_id: authz.client.id,
        client_name: authz.client.name?.trim() || 'An application',
        redirect_uri: authz.redirectUri,
        scope: authz.scope,
        issuer: deps.issuer,
      };
      return info;
    } catch (err) {
      if (err instanceof AuthorizeRedirectError) return reply.status(400).send({ error: err.error, error_description: err.description });
      if (err instanceof AuthorizePageError) return reply.status(400).send({ error: 'invalid_request', error_description: err.message });
      throw err;
    }
  });
}
