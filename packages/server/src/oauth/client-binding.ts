/**
 * The code and refresh grants' client rule: a login made for a client is used by that client
 * only, the client must still be active, and a confidential client (one with a secret) must
 * prove its secret on every back-channel call (RFC 6749 section 3.2.1; ASVS V10.4.10) even
 * when the code also carries a PKCE challenge. The secret itself is verified by the token
 * route before any grant runs; here we only require that it was sent.
 *
 * The client is read before the grant's transaction and the rule applied inside it: the
 * embedded database has one connection, so no query may run beside an open transaction.
 */
import type { ClientApplication, Login } from '@medplum/fhirtypes';
import { OAuthError } from '../auth/auth-errors.js';
import { referenceId } from '../auth/authenticate.js';
import { findClientApplication } from './client-auth.js';
import { serverScope, type GrantDeps, type GrantRequest } from './grant-context.js';

export type ClientRule = (login: Login, request: GrantRequest) => void;

export interface LoginClient {
  /** Applied inside the grant's transaction, to the login as locked there. */
  rule: ClientRule;
  /** The login's client when it has one (its token lifetimes apply, token-lifetime.ts). */
  client?: ClientApplication & { id: string; projectId: string };
}

export async function loginClient(deps: GrantDeps, loginId: string): Promise<LoginClient> {
  const current = await deps.store.readCurrent(serverScope, 'Login', loginId);
  const clientId = referenceId((current?.resource as Login | undefined)?.client, 'ClientApplication');
  const client = clientId ? await findClientApplication(deps, clientId) : undefined;
  const rule: ClientRule = (login, request) => {
    const loginClientId = referenceId(login.client, 'ClientApplication');
    if (!loginClientId) return;
    if (loginClientId !== clientId || !client || (client.status !== undefined && client.status !== 'active')) {
      throw new OAuthError('invalid_client', 'Invalid client credentials');
    }
    if (client.secret && (request.client?.id !== loginClientId || request.client.secret === undefined)) {
      throw new OAuthError('invalid_client', 'This client must authenticate with its secret');
    }
  };
  return { rule, ...(client ? { client } : {}) };
}
