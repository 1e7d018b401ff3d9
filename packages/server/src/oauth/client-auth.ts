/**
 * Confidential-client authentication: the ClientApplication's secret compared in constant
 * time (hashes of both sides, so neither length nor content leaks through timing). An
 * unknown client, an inactive one, or a wrong secret give the same invalid_client.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ClientApplication } from '@medplum/fhirtypes';
import { OAuthError } from '../auth/auth-errors.js';
import type { GrantDeps } from './grant-context.js';
import { serverScope } from './grant-context.js';

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export async function findClientApplication(deps: GrantDeps, clientId: string): Promise<(ClientApplication & { id: string; projectId: string }) | undefined> {
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(clientId)) return undefined;
  const found = await deps.store.locate(serverScope, 'ClientApplication', clientId);
  return found && !found.deleted ? { ...(found.resource as ClientApplication & { id: string }), projectId: found.projectId } : undefined;
}

export async function verifyClientSecret(deps: GrantDeps, clientId: string, secret: string): Promise<ClientApplication & { id: string; projectId: string }> {
  const client = await findClientApplication(deps, clientId);
  const stored = client?.secret ?? '';
  const matches = timingSafeEqual(sha256(stored), sha256(secret));
  if (!client || !client.secret || !matches || (client.status !== undefined && client.status !== 'active')) {
    throw new OAuthError('invalid_client', 'Invalid client credentials');
  }
  return client;
}
