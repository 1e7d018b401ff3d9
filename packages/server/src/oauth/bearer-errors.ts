/**
 * RFC 6750 section 3 answers for the `/oauth2/*` endpoints that take a bearer token
 * (userinfo): 401 `invalid_token` with `WWW-Authenticate`, 403 `insufficient_scope`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { resolveBearer, type AuthenticateDeps } from '../auth/authenticate.js';
import type { RequestContext } from '../auth/request-context.js';
import { OutcomeError } from '../fhir/outcomes.js';

/** The caller's context, or undefined after answering 401 the RFC 6750 way. */
export async function bearerContext(deps: AuthenticateDeps, request: FastifyRequest, reply: FastifyReply): Promise<RequestContext | undefined> {
  try {
    return await resolveBearer(deps, request.headers.authorization);
  } catch (err) {
    if (!(err instanceof OutcomeError) || err.status !== 401) throw err;
    const sent = /^Bearer\s/i.test(request.headers.authorization ?? '');
    // Without any token the challenge names no error (RFC 6750 section 3.1).
    reply
      .status(401)
      .header('WWW-Authenticate', sent ? 'Bearer error="invalid_token"' : 'Bearer')
      .send({ error: 'invalid_token', error_description: sent ? err.message : 'Send the access token as Authorization: Bearer' });
    return undefined;
  }
}

export function sendInsufficientScope(reply: FastifyReply, scope: string): void {
  reply
    .status(403)
    .header('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${scope}"`)
    .send({ error: 'insufficient_scope', error_description: `This needs the ${scope} scope` });
}
