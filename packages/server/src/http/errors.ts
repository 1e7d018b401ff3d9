/**
 * One error handler for the whole server: every failure becomes a FHIR OperationOutcome with
 * the right 4xx status, and a 5xx never carries details (they go to the log, with the
 * request id the client can quote).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OutcomeError, outcome } from '../fhir/outcomes.js';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Fastify's own error codes for bad requests, and what to tell the client. */
const FRAMEWORK_ERRORS: Record<string, { status: number; code: 'invalid' | 'not-supported' | 'too-costly'; text: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'too-costly', text: 'The request body is larger than the server accepts' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'not-supported', text: 'Unsupported Content-Type: send application/fhir+json or application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid', text: 'Content-Length does not match the body' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid', text: 'The request body is empty' },
  FST_ERR_CTP_INVALID_TYPE: { status: 400, code: 'invalid', text: 'Invalid Content-Type header' },
  FST_ERR_BAD_URL: { status: 400, code: 'invalid', text: 'Malformed URL' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 400, code: 'invalid', text: 'A path segment is longer than the server accepts' },
};

/**
 * Fastify's `frameworkErrors` option: errors met while routing (a malformed URL, a path segment
 * longer than `maxParamLength`), which happen before any route's error handler exists.
 */
export function sendFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const known = FRAMEWORK_ERRORS[error.code] ?? { status: 400, code: 'invalid', text: 'Bad request' };
  reply.status(known.status).type(FHIR_JSON).send(outcome(known.code, known.text));
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | OutcomeError, request, reply) => {
    if (error instanceof OutcomeError) {
      return reply.status(error.status).type(FHIR_JSON).send(error.outcome);
    }
    const known = error.code ? FRAMEWORK_ERRORS[error.code] : undefined;
    if (known) {
      return reply.status(known.status).type(FHIR_JSON).send(outcome(known.code, known.text));
    }
    if (error.validation) {
      const issue = error.validation[0];
      const path = issue?.instancePath?.replace(/^\//, '').replace(/\//g, '.') || issue?.params?.missingProperty;
      return reply.status(400).type(FHIR_JSON).send(outcome('invalid', `${error.validationContext ?? 'request'} ${issue?.message ?? 'is invalid'}`, path ? String(path) : undefined));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.status(status).type(FHIR_JSON).send(outcome('invalid', error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).type(FHIR_JSON).send(outcome('exception', `Internal server error (request ${request.id})`));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).type(FHIR_JSON).send(outcome('not-found', `No route for ${request.method} ${request.url.split('?')[0]}`));
  });
}
