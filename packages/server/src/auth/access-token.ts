/**
 * Access tokens: JWTs signed RS256 with our own keys, typed `at+jwt` (RFC 9068) so that an
 * id token or any other JWT of ours is refused where an access token is expected.
 * Verification checks signature, algorithm (allowlist of one), `typ`, issuer, expiry and
 * not-before with a small leeway, using the injected clock.
 */
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import type { Clock, Random } from '../deps.js';
import { SIGNING_ALG, keyForJwt, type KeyStore } from './key-store.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
const CLOCK_TOLERANCE_SECONDS = 30;

export interface AccessTokenClaims {
  /** The Login this token belongs to: revoke the login and the token stops working. */
  login_id: string;
  /** The project and membership the login chose; checked against the Login on every request. */
  project_id: string;
  membership_id: string;
  /** The User (or ClientApplication) id. */
  sub: string;
  /** The membership's profile reference, e.g. `Practitioner/123`. */
  profile: string;
  scope: string;
  client_id?: string;
}

export interface TokenDeps {
  keys: KeyStore;
  clock: Clock;
  random: Random;
  issuer: string;
}

export async function signAccessToken(deps: TokenDeps, claims: AccessTokenClaims, lifetimeSeconds: number): Promise<string> {
  const { kid, key } = deps.keys.signingKey();
  const now = Math.floor(deps.clock.now().getTime() / 1000);
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: ACCESS_TOKEN_TYPE })
    .setIssuer(deps.issuer)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + lifetimeSeconds)
    .setJti(deps.random.uuid())
    .sign(key);
}

export class InvalidTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTokenError';
  }
}

interface VerifiedToken {
  claims: AccessTokenClaims;
  exp: number;
  nbf: number;
}

/**
 * Tokens whose signature and claims were already checked, per key store (so per server), by
 * the exact token text: a forged token can never match an entry. Only the signature work is
 * saved; expiry is checked again on every use, and the Login and membership are still read
 * from the database on every request (authenticate.ts), so revocation is not delayed.
 */
const verifiedTokens = new WeakMap<KeyStore, Map<string, VerifiedToken>>();
const VERIFIED_CACHE_SIZE = 10_000;

/** Returns the claims of a valid access token; throws InvalidTokenError with a reason otherwise. */
export async function verifyAccessToken(deps: TokenDeps, token: string): Promise<AccessTokenClaims> {
  let cache = verifiedTokens.get(deps.keys);
  if (!cache) {
    cache = new Map();
    verifiedTokens.set(deps.keys, cache);
  }
  const now = deps.clock.now().getTime() / 1000;
  const known = cache.get(token);
  if (known) {
    if (now > known.exp + CLOCK_TOLERANCE_SECONDS) {
      cache.delete(token);
      throw new InvalidTokenError('Token expired');
    }
    if (now < known.nbf - CLOCK_TOLERANCE_SECONDS) {
      throw new InvalidTokenError('Invalid token: ERR_JWT_CLAIM_VALIDATION_FAILED');
    }
    return known.claims;
  }
  const claims = await verifySignatureAndClaims(deps, token);
  if (cache.size >= VERIFIED_CACHE_SIZE) {
    // Map keeps insertion order: drop the oldest entry.
    cache.delete(cache.keys().next().value as string);
  }
  const payload = claims as unknown as { exp: number; nbf?: number; iat: number };
  cache.set(token, { claims, exp: payload.exp, nbf: payload.nbf ?? payload.iat });
  return claims;
}

async function verifySignatureAndClaims(deps: TokenDeps, token: string): Promise<AccessTokenClaims> {
  const key = await keyForJwt(deps.keys, token);
  if (!key) {
    throw new InvalidTokenError('Token not signed by a key of this server');
  }
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [SIGNING_ALG],
      issuer: deps.issuer,
      typ: ACCESS_TOKEN_TYPE,
      currentDate: deps.clock.now(),
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp', 'iat', 'sub', 'login_id', 'project_id', 'membership_id'],
    });
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    if (typeof payload.login_id !== 'string' || typeof payload.sub !== 'string' || !uuid.test(String(payload.project_id)) || typeof payload.membership_id !== 'string') {
      throw new InvalidTokenError('Token claims are malformed');
    }
    return payload as unknown as AccessTokenClaims;
  } catch (err) {
    if (err instanceof InvalidTokenError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new InvalidTokenError('Token expired');
    if (err instanceof joseErrors.JOSEError) throw new InvalidTokenError(`Invalid token: ${err.code}`);
    throw err;
  }
}
