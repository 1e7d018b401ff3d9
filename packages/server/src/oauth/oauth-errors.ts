/** RFC 6749 section 5.2 error bodies for `/oauth2/*`; a 5xx says nothing more than `server_error`. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../auth/auth-errors.js';

export function sendOAuthError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('Cache-Control', 'no-store');
  if (error instanceof OAuthError) {
    if (error.status === 401 && /^Basic\s/i.test(request.headers.authorization ?? '')) {
      reply.header('WWW-Authenticate', 'Basic realm="tessera"');
    }
    reply.status(error.status).send({ error: error.error, error_description: error.description });
    return;
  }
  const status = (error as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) {
    reply.status(status).send({ error: 'invalid_request', error_description: error.message });
    return;
  }
  request.log.error({ err: error }, 'unhandled error in oauth2');
  reply.status(500).send({ error: 'server_error', error_description: `Internal server error (request ${request.id})` });
}
