/**
 * `POST /oauth2/revoke` (RFC 7009): revokes the Login behind an access or refresh token, so
 * both stop working on the next request (section 2.1: revoking either may end the whole grant).
 * Who may revoke: a token issued to a confidential client only by that client, authenticated;
 * a token issued to a public client by a request naming that `client_id`; a token issued
 * without a client (MedplumClient's `/auth/login`) by whoever holds it. Credentials that are
 * sent are verified first (invalid_client, 401). Unknown, expired and malformed tokens get 200,
 * as the RFC requires, so the endpoint tells nothing about tokens it does not act on.
 */
import type { Login } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import { OAuthError } from '../auth/auth-errors.js';
import { referenceId } from '../auth/authenticate.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { findClientApplication, verifyClientSecret } from './client-auth.js';
import { readClientCredentials, readForm, type ClientCredentials } from './form-request.js';
import { revokeLogin, serverScope, type GrantDeps } from './grant-context.js';
import { findTokenLogin } from './token-owner.js';

export async function revokeRoutes(app: FastifyInstance, options: { deps: GrantDeps }): Promise<void> {
  const { deps } = options;
  app.post('/revoke', async (request, reply) => {
    const params = readForm(request);
    const credentials = readClientCredentials(request, params);
    if (credentials?.secret !== undefined) await verifyClientSecret(deps, credentials.id, credentials.secret);
    if (!params.token) throw new OAuthError('invalid_request', 'Missing token');
    const owned = await findTokenLogin(deps, params.token, params.token_type_hint);
    const login = owned ? await new SystemRepository(deps).read<Login>(serverScope, 'Login', owned.loginId) : undefined;
    if (login && !login.revoked) {
      await assertMayRevoke(deps, login, credentials);
      await revokeLogin(deps, login.id);
    }
    reply.status(200).header('Cache-Control', 'no-store').send();
  });
}

async function assertMayRevoke(deps: GrantDeps, login: Login, credentials: ClientCredentials | undefined): Promise<void> {
  const owner = referenceId(login.client, 'ClientApplication');
  if (!owner) {
    if (credentials) throw new OAuthError('unauthorized_client', 'The token was not issued to this client');
    return;
  }
  const client = await findClientApplication(deps, owner);
  if (client?.secret && credentials?.secret === undefined) {
    throw new OAuthError('invalid_client', 'Client authentication is required to revoke this token');
  }
  if (credentials?.id !== owner) throw new OAuthError('unauthorized_client', 'The token was not issued to this client');
}
