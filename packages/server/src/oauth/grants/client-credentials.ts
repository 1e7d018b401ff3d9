/**
 * `grant_type=client_credentials` (RFC 6749 section 4.4; SMART Backend Services with a shared
 * secret): a ClientApplication proves its secret (Basic or form), and acts through its own
 * active membership of its project. Each grant records a granted Login (`authMethod: client`),
 * so revoking it, or deactivating the membership, stops the token on the next request. No
 * refresh token: the client can always ask again. The client's `accessTokenLifetime` applies,
 * and each grant is recorded in the audit log (`login`) with its Login. Unknown client, wrong
 * secret, inactive client and missing membership all answer the same invalid_client (401).
 * The membership's `ipAccessRule`s are checked before anything is recorded (ip-rules.ts).
 */
import type { Login, ProjectMembership } from '@medplum/fhirtypes';
import { recordSignIn } from '../../audit/sign-in-audit.js';
import { OAuthError } from '../../auth/auth-errors.js';
import { issueTokenSet } from '../../auth/token-set.js';
import { assertGrantIpAllowed } from '../../fhir/access-policy/ip-rules.js';
import { SystemRepository } from '../../fhir/system-repository.js';
import { requireAuthenticatedClient } from '../form-request.js';
import { serverScope, type Grant, type GrantDeps } from '../grant-context.js';
import { checkRequestedScope } from '../requested-scope.js';
import { clientTokenLifetimes } from '../token-lifetime.js';

export const clientCredentialsGrant: Grant = async (deps, request) => {
  const client = await requireAuthenticatedClient(deps, request.client);
  const scope = checkRequestedScope(request.params.scope || 'openid');
  const membership = await findClientMembership(deps, client.id, client.projectId);
  if (!membership) throw new OAuthError('invalid_client', 'Invalid client credentials');
  await assertGrantIpAllowed(deps.store, deps.db, client.projectId, membership, request.remoteAddress);
  const lifetimes = clientTokenLifetimes(deps.accessLifetimeSeconds, client);
  // The Login and its audit record in one transaction: a token is never issued unrecorded.
  const login = await deps.db.transaction(async (tx) => {
    const created = await new SystemRepository(deps).create<Login>(
      serverScope,
      {
        resourceType: 'Login',
        user: { reference: `ClientApplication/${client.id}` },
        client: { reference: `ClientApplication/${client.id}` },
        project: { reference: `Project/${client.projectId}` },
        membership: { reference: `ProjectMembership/${membership.id}` },
        authMethod: 'client',
        authTime: deps.clock.now().toISOString(),
        scope,
        granted: true,
        ...(request.remoteAddress ? { remoteAddress: request.remoteAddress } : {}),
      },
      tx,
    );
    await recordSignIn(deps, tx, { login: created, membership, projectId: client.projectId, clientId: client.id });
    return created;
  });
  return issueTokenSet(deps, {
    login,
    membership,
    projectId: client.projectId,
    userId: client.id,
    clientId: client.id,
    accessLifetimeSeconds: lifetimes.accessLifetimeSeconds,
  });
};

/** The client's active membership in its own project (the one an admin made for it). */
async function findClientMembership(deps: GrantDeps, clientId: string, projectId: string): Promise<(ProjectMembership & { id: string }) | undefined> {
  const rows = await deps.store.findMembershipsOfUser(serverScope, `ClientApplication/${clientId}`);
  const found = rows.find((r) => r.projectId === projectId && (r.resource as ProjectMembership).active !== false && r.resource);
  return found?.resource as (ProjectMembership & { id: string }) | undefined;
}
