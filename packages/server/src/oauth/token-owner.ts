/**
 * Which Login a presented token belongs to, for revocation and introspection: an access token
 * (`at+jwt`) or a refresh token (`refresh+jwt`) that we signed, checked with the same verifiers
 * as everywhere else. An id token, a foreign or malformed token gives undefined.
 */
import { InvalidTokenError, verifyAccessToken } from '../auth/access-token.js';
import { verifyRefreshToken } from '../auth/token-set.js';
import type { GrantDeps } from './grant-context.js';

export type TokenKind = 'access_token' | 'refresh_token';

export interface OwnedToken {
  kind: TokenKind;
  loginId: string;
}

/** RFC 7009 section 2.1: the hint only says which kind to try first. */
export async function findTokenLogin(deps: GrantDeps, token: string, hint: string | undefined): Promise<OwnedToken | undefined> {
  const order: TokenKind[] = hint === 'refresh_token' ? ['refresh_token', 'access_token'] : ['access_token', 'refresh_token'];
  for (const kind of order) {
    const loginId = kind === 'access_token' ? await accessTokenLogin(deps, token) : (await verifyRefreshToken(deps, token))?.loginId;
    if (loginId) return { kind, loginId };
  }
  return undefined;
}

async function accessTokenLogin(deps: GrantDeps, token: string): Promise<string | undefined> {
  try {
    return (await verifyAccessToken(deps, token)).login_id;
  } catch (err) {
    if (err instanceof InvalidTokenError) return undefined;
    throw err;
  }
}
