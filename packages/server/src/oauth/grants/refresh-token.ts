/**
 * `grant_type=refresh_token` (RFC 6749 section 6) with rotation: every use returns a new
 * refresh token and invalidates the old one. Presenting an old one again means it was copied,
 * so the whole login is revoked (OAuth 2.0 Security BCP, section 4.14.2).
 */
import type { Login } from '@medplum/fhirtypes';
import { OAuthError } from '../../auth/auth-errors.js';
import { referenceId } from '../../auth/authenticate.js';
import { hashSecret, newSecret, secretMatches } from '../../auth/secrets.js';
import { verifyRefreshToken, type TokenResponse } from '../../auth/token-set.js';
import { assertGrantIpAllowed } from '../../fhir/access-policy/ip-rules.js';
import { SystemRepository } from '../../fhir/system-repository.js';
import { loginClient } from '../client-binding.js';
import { clientTokenLifetimes } from '../token-lifetime.js';
import { lockLogin, loadParties, requireParam, revokeLogin, serverScope, tokensFor, type Grant } from '../grant-context.js';

export const refreshTokenGrant: Grant = async (deps, request) => {
  const presented = await verifyRefreshToken(deps, requireParam(request, 'refresh_token'));
  if (!presented) throw new OAuthError('invalid_grant', 'Invalid refresh token');
  const { rule: clientRule, client } = await loginClient(deps, presented.loginId);
  let reused = false;
  const result = await deps.db.transaction(async (tx): Promise<TokenResponse | undefined> => {
    const login = await lockLogin(deps, tx, presented.loginId);
    if (!login || login.revoked || !login.granted || !login.refreshSecret) {
      throw new OAuthError('invalid_grant', 'Invalid refresh token');
    }
    if (!secretMatches(presented.secret, login.refreshSecret)) {
      reused = true;
      return undefined;
    }
    const loginClient = referenceId(login.client, 'ClientApplication');
    if (request.client && request.client.id !== loginClient) {
      throw new OAuthError('invalid_grant', 'The refresh token was issued to another client');
    }
    clientRule(login, request);
    const parties = await loadParties(deps, tx, login);
    // A blocked address leaves the refresh token as it was (nothing is rotated).
    await assertGrantIpAllowed(deps.store, tx, parties.projectId, parties.membership, request.remoteAddress);
    const secret = newSecret();
    const rotated = await new SystemRepository(deps).update<Login>(serverScope, { ...login, refreshSecret: hashSecret(secret) }, tx);
    return tokensFor(deps, rotated, parties, secret, clientTokenLifetimes(deps.accessLifetimeSeconds, client));
  });
  if (reused || !result) {
    await revokeLogin(deps, presented.loginId);
    throw new OAuthError('invalid_grant', 'Refresh token already used; the login has been revoked');
  }
  return result;
};
