/**
 * `GET|POST /oauth2/logout`: ends the caller's sign-in by revoking its Login, so the access
 * token and any refresh token stop working on the next request, on every instance.
 */
import type { Login } from '@medplum/fhirtypes';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticate, type AuthenticateDeps } from '../auth/authenticate.js';
import { allOk } from '../fhir/outcomes.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { FHIR_JSON } from '../http/errors.js';
import type { GrantDeps } from './grant-context.js';
import { lockLogin, serverScope } from './grant-context.js';

export async function logoutRoutes(app: FastifyInstance, options: { deps: GrantDeps & AuthenticateDeps }): Promise<void> {
  const { deps } = options;
  app.addHook('onRequest', authenticate(deps));
  const logout = async (request: FastifyRequest): Promise<void> => {
    const loginId = request.ctx?.login.id;
    if (!loginId) throw new Error('route reached without authentication');
    await deps.db.transaction(async (tx) => {
      const login = await lockLogin(deps, tx, loginId);
      if (login && !login.revoked) {
        await new SystemRepository(deps).update<Login>(serverScope, { ...login, revoked: true }, tx);
      }
    });
  };
  app.get('/logout', async (request, reply) => {
    await logout(request);
    reply.type(FHIR_JSON).send(allOk('Signed out'));
  });
  app.post('/logout', async (request, reply) => {
    await logout(request);
    reply.type(FHIR_JSON).send(allOk('Signed out'));
  });
}
