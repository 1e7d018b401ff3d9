/**
 * `grant_type=authorization_code` (RFC 6749 section 4.1.3, PKCE RFC 7636 section 4.6).
 * A code is single use: presenting a code whose login was already granted revokes that login,
 * and so every token issued from it (RFC 6749 section 4.1.2). PKCE S256 is required unless a
 * confidential client authenticated with its secret. A code from `/oauth2/authorize` needs the
 * same `redirect_uri` as the authorization request (RFC 6749 section 4.1.3). The membership's
 * `ipAccessRule`s are checked (ip-rules.ts): a blocked address leaves the code unused.
 */
import type { Login } from '@medplum/fhirtypes';
import { OAuthError } from '../../auth/auth-errors.js';
import { referenceId } from '../../auth/authenticate.js';
import { CODE_LIFETIME_SECONDS, parseCode } from '../../auth/login-flow.js';
import { verifyPkce } from '../../auth/pkce.js';
import { newSecret, hashSecret, secretMatches } from '../../auth/secrets.js';
import { wantsOfflineAccess, type TokenResponse } from '../../auth/token-set.js';
import { SystemRepository } from '../../fhir/system-repository.js';
import { recordSignIn } from '../../audit/sign-in-audit.js';
import { assertGrantIpAllowed } from '../../fhir/access-policy/ip-rules.js';
import { loginClient } from '../client-binding.js';
import { lockLogin, loadParties, requireParam, revokeLogin, serverScope, tokensFor, type Grant } from '../grant-context.js';
import { loginRedirectUri } from '../redirect-uri.js';
import { clientTokenLifetimes } from '../token-lifetime.js';

export const authorizationCodeGrant: Grant = async (deps, request) => {
  const parsed = parseCode(requireParam(request, 'code'));
  if (!parsed) throw new OAuthError('invalid_grant', 'Invalid code');
  const { rule: clientRule, client } = await loginClient(deps, parsed.loginId);
  let replayed = false;
  const result = await deps.db.transaction(async (tx): Promise<TokenResponse | undefined> => {
    const login = await lockLogin(deps, tx, parsed.loginId);
    if (!login || !secretMatchesCode(parsed.secret, login)) {
      if (login?.granted && !login.revoked) {
        replayed = true;
        return undefined;
      }
      throw new OAuthError('invalid_grant', 'Invalid code');
    }
    if (login.revoked) throw new OAuthError('invalid_grant', 'Login revoked');
    const codeAge = (deps.clock.now().getTime() - Date.parse(login.meta?.lastUpdated ?? login.authTime)) / 1000;
    if (codeAge > CODE_LIFETIME_SECONDS) throw new OAuthError('invalid_grant', 'Code expired');
    checkClient(login, request);
    clientRule(login, request);
    checkRedirectUri(login, request);
    checkPkce(login, request);
    const parties = await loadParties(deps, tx, login);
    await assertGrantIpAllowed(deps.store, tx, parties.projectId, parties.membership, request.remoteAddress);
    // Super admins get no refresh token: their sessions end with the access token (as Medplum's).
    const refreshSecret = wantsOfflineAccess(login.scope) && !parties.project.superAdmin ? newSecret() : undefined;
    const { code: _used, ...rest } = login;
    const granted = await new SystemRepository(deps).update<Login>(
      serverScope,
      { ...rest, granted: true, ...(refreshSecret ? { refreshSecret: hashSecret(refreshSecret) } : {}) },
      tx,
    );
    // The sign-in is complete: recorded in the membership's project, with the grant.
    await recordSignIn(deps, tx, { login: granted, membership: parties.membership, projectId: parties.projectId, clientId: client?.id, remoteAddress: request.remoteAddress });
    return tokensFor(deps, granted, parties, refreshSecret, clientTokenLifetimes(deps.accessLifetimeSeconds, client));
  });
  if (replayed || !result) {
    await revokeLogin(deps, parsed.loginId);
    throw new OAuthError('invalid_grant', 'Code already used; the login has been revoked');
  }
  return result;
};

/** A granted login keeps no code hash; a used code is recognised by its login being granted. */
function secretMatchesCode(secret: string, login: Login): boolean {
  return !login.granted && secretMatches(secret, login.code);
}

function checkClient(login: Login, request: { params: Record<string, string>; client?: { id: string } }): void {
  const loginClient = referenceId(login.client, 'ClientApplication');
  const presented = request.client?.id ?? request.params.client_id;
  if (loginClient && presented !== loginClient) {
    throw new OAuthError('invalid_grant', 'The code was issued to another client');
  }
  if (!loginClient && presented) {
    throw new OAuthError('invalid_grant', 'The code was not issued to this client');
  }
}

function checkRedirectUri(login: Login, request: { params: Record<string, string> }): void {
  const expected = loginRedirectUri(login);
  if (expected !== undefined && request.params.redirect_uri !== expected) {
    throw new OAuthError('invalid_grant', 'redirect_uri does not match the one of the authorization request');
  }
}

function checkPkce(login: Login, request: { params: Record<string, string>; client?: { secret?: string } }): void {
  const verifier = request.params.code_verifier;
  if (login.codeChallenge) {
    if (!verifier) throw new OAuthError('invalid_grant', 'Missing code_verifier');
    if (login.codeChallengeMethod !== 'S256' || !verifyPkce(login.codeChallenge, verifier)) {
      throw new OAuthError('invalid_grant', 'Invalid code_verifier');
    }
    return;
  }
  if (!request.client?.secret) {
    throw new OAuthError('invalid_grant', 'This code needs PKCE: the sign-in did not send a code challenge');
  }
}
