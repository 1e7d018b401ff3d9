/**
 * `POST /oauth2/token` (RFC 6749 section 3.2): a form-encoded body, each parameter once, the
 * grant chosen from a map. Client credentials come from HTTP Basic or the form (not both);
 * when a secret is sent it is verified before any grant runs. Errors are RFC 6749 JSON.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OAuthError } from '../auth/auth-errors.js';
import { authorizationCodeGrant } from './grants/authorization-code.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import type { Grant, GrantDeps, GrantRequest } from './grant-context.js';
import { sendOAuthError } from './oauth-errors.js';
import { verifyClientSecret } from './client-auth.js';

const FORM = 'application/x-www-form-urlencoded';

const grants: Record<string, Grant> = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
};

export async function tokenRoutes(app: FastifyInstance, options: { deps: GrantDeps }): Promise<void> {
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error, request, reply) => sendOAuthError(error as Error, request, reply));

  app.post('/token', async (request, reply) => {
    const params = parseForm(request);
    const grantType = params.grant_type;
    if (!grantType) throw new OAuthError('invalid_request', 'Missing grant_type');
    const grant = grants[grantType];
    if (!grant) throw new OAuthError('unsupported_grant_type', `Unsupported grant_type "${grantType.slice(0, 100)}"`);
    const grantRequest: GrantRequest = { params, client: readClientCredentials(request, params) };
    if (grantRequest.client?.secret !== undefined) {
      await verifyClientSecret(options.deps, grantRequest.client.id, grantRequest.client.secret);
    }
    const tokens = await grant(options.deps, grantRequest);
    // RFC 6749 section 5.1: token responses are never cached.
    reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache').send(tokens);
  });
}

function parseForm(request: FastifyRequest): Record<string, string> {
  if (!String(request.headers['content-type'] ?? '').startsWith(FORM) || typeof request.body !== 'string') {
    throw new OAuthError('invalid_request', `The token request must be ${FORM}`);
  }
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of new URLSearchParams(request.body)) {
    if (name in params) throw new OAuthError('invalid_request', `${name.slice(0, 50)} is given more than once`);
    params[name] = value;
  }
  return params;
}

/** RFC 6749 section 2.3.1: Basic (ids and secrets form-encoded inside) or client_id/client_secret in the body. */
function readClientCredentials(request: FastifyRequest, params: Record<string, string>): GrantRequest['client'] {
  const header = request.headers.authorization;
  const basic = header?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i);
  if (header && !basic) throw new OAuthError('invalid_client', 'Unsupported Authorization scheme: use Basic');
  if (basic) {
    if (params.client_secret !== undefined) throw new OAuthError('invalid_request', 'Send client credentials one way, not both');
    const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_client', 'Malformed Basic credentials');
    const id = formDecode(decoded.slice(0, colon));
    const secret = formDecode(decoded.slice(colon + 1));
    if (params.client_id && params.client_id !== id) throw new OAuthError('invalid_request', 'client_id does not match the Basic credentials');
    return { id, secret };
  }
  // MedplumClient sends `client_id=` (empty) when it has no client: that is no client.
  if (params.client_id) {
    return { id: params.client_id, ...(params.client_secret !== undefined ? { secret: params.client_secret } : {}) };
  }
  return undefined;
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new OAuthError('invalid_client', 'Malformed Basic credentials');
  }
}
