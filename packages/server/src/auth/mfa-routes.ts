/**
 * `/auth/mfa/*` in Medplum's shapes: `GET status`, `POST enroll {token}`, `POST disable {token}`
 * for the signed-in user, and `POST verify {login, token}`, the second step of a password
 * sign-in that answered `{login, mfaRequired: true}`. The work is in mfa.ts.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseBody } from '../http/parse-body.js';
import { allOk } from '../fhir/outcomes.js';
import { authenticate, type AuthenticateDeps } from './authenticate.js';
import { findUserOfContext, type LoginFlowDeps } from './login-flow.js';
import { disableMfa, enrollMfa, mfaStatus, verifyMfaLogin } from './mfa.js';
import type { RequestContext } from './request-context.js';
import { addRetryAfterHeader } from './throttle.js';

export interface MfaRoutesOptions {
  deps: LoginFlowDeps & AuthenticateDeps;
}

// Authenticator apps show "123 456"; spaces are dropped before the check.
const token = z.string().min(1, 'is required').max(20);
const tokenSchema = z.object({ token });
const verifySchema = z.object({ login: z.uuid('must be a login id'), token });

export async function mfaRoutes(app: FastifyInstance, options: MfaRoutesOptions): Promise<void> {
  const { deps } = options;
  addRetryAfterHeader(app);

  app.post('/verify', async (request) => {
    const body = parseBody(verifySchema, request.body);
    return verifyMfaLogin(deps, body.login, body.token, { remoteAddress: request.ip });
  });

  await app.register(async (secured) => {
    secured.addHook('onRequest', authenticate(deps));
    const currentUser = (ctx: RequestContext | undefined) => findUserOfContext(deps, ctx as RequestContext);

    secured.get('/status', async (request) => mfaStatus(deps, await currentUser(request.ctx)));

    secured.post('/enroll', async (request) => {
      const body = parseBody(tokenSchema, request.body);
      await enrollMfa(deps, await currentUser(request.ctx), body.token, { remoteAddress: request.ip });
      return allOk('Enrolled in multi-factor authentication');
    });

    secured.post('/disable', async (request) => {
      const body = parseBody(tokenSchema, request.body);
      await disableMfa(deps, await currentUser(request.ctx), body.token, { remoteAddress: request.ip });
      return allOk('Multi-factor authentication disabled');
    });
  });
}
