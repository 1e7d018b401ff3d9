/**
 * The tokens a granted Login receives (Medplum's token response shape): an access token
 * (`at+jwt`), an OpenID Connect id token (`JWT`), and, when the scope asks for offline access,
 * a refresh token (`refresh+jwt`) carrying a one-time secret whose hash the Login keeps.
 * Each type is refused where another is expected, because each verifier checks `typ`.
 */
import type { Login, ProjectMembership, Reference } from '@medplum/fhirtypes';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { signAccessToken, type TokenDeps } from './access-token.js';
import { SIGNING_ALG, keyForJwt } from './key-store.js';

export const REFRESH_TOKEN_TYPE = 'refresh+jwt';
export const DEFAULT_REFRESH_LIFETIME_SECONDS = 14 * 24 * 3600;

export interface TokenResponse {
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  access_token: string;
  id_token: string;
  refresh_token?: string;
  project: Reference;
  profile: Reference;
  /** The Patient id, when the membership's profile is a Patient (SMART `patient` context). */
  patient?: string;
}

export interface TokenSetInput {
  login: Login & { id: string };
  membership: ProjectMembership & { id: string };
  projectId: string;
  userId: string;
  email?: string;
  clientId?: string;
  /** The new refresh secret, when this grant issues a refresh token. */
  refreshSecret?: string;
  accessLifetimeSeconds: number;
  refreshLifetimeSeconds?: number;
}

export function wantsOfflineAccess(scope: string | undefined): boolean {
  return (scope ?? '').split(/\s+/).some((s) => s === 'offline' || s === 'offline_access');
}

export async function issueTokenSet(deps: TokenDeps, input: TokenSetInput): Promise<TokenResponse> {
  const { login, membership } = input;
  const scope = login.scope ?? 'openid';
  const profile = membership.profile?.reference ?? '';
  const access_token = await signAccessToken(
    deps,
    {
      login_id: login.id,
      project_id: input.projectId,
      membership_id: membership.id,
      sub: input.userId,
      profile,
      scope,
      ...(input.clientId ? { client_id: input.clientId } : {}),
    },
    input.accessLifetimeSeconds,
  );
  const id_token = await signIdToken(deps, input, profile, scope);
  const response: TokenResponse = {
    token_type: 'Bearer',
    expires_in: input.accessLifetimeSeconds,
    scope,
    access_token,
    id_token,
    project: { reference: `Project/${input.projectId}` },
    profile: { reference: profile },
  };
  if (profile.startsWith('Patient/')) {
    response.patient = profile.slice('Patient/'.length);
  }
  if (input.refreshSecret) {
    response.refresh_token = await signRefreshToken(deps, login.id, input.refreshSecret, input.refreshLifetimeSeconds ?? DEFAULT_REFRESH_LIFETIME_SECONDS);
  }
  return response;
}

async function signIdToken(deps: TokenDeps, input: TokenSetInput, profile: string, scope: string): Promise<string> {
  const { kid, key } = deps.keys.signingKey();
  const now = Math.floor(deps.clock.now().getTime() / 1000);
  const authTime = input.login.authTime ? Math.floor(Date.parse(input.login.authTime) / 1000) : now;
  const claims: Record<string, unknown> = {
    login_id: input.login.id,
    fhirUser: profile ? `${deps.issuer}fhir/R4/${profile}` : undefined,
    auth_time: authTime,
  };
  if (input.login.nonce) claims.nonce = input.login.nonce;
  if (input.email && scope.split(/\s+/).includes('email')) claims.email = input.email;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'JWT' })
    .setIssuer(deps.issuer)
    .setSubject(input.userId)
    .setAudience(input.clientId ?? deps.issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + input.accessLifetimeSeconds)
    .sign(key);
}

async function signRefreshToken(deps: TokenDeps, loginId: string, secret: string, lifetimeSeconds: number): Promise<string> {
  const { kid, key } = deps.keys.signingKey();
  const now = Math.floor(deps.clock.now().getTime() / 1000);
  return new SignJWT({ login_id: loginId, refresh_secret: secret })
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: REFRESH_TOKEN_TYPE })
    .setIssuer(deps.issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + lifetimeSeconds)
    .sign(key);
}

/** The login and secret of a refresh token we signed and that has not expired; undefined otherwise. */
export async function verifyRefreshToken(deps: TokenDeps, token: string): Promise<{ loginId: string; secret: string } | undefined> {
  try {
    const key = await keyForJwt(deps.keys, token);
    if (!key) return undefined;
    const { payload } = await jwtVerify(token, key, {
      algorithms: [SIGNING_ALG],
      issuer: deps.issuer,
      typ: REFRESH_TOKEN_TYPE,
      currentDate: deps.clock.now(),
      clockTolerance: 30,
      requiredClaims: ['exp', 'login_id', 'refresh_secret'],
    });
    if (typeof payload.login_id !== 'string' || typeof payload.refresh_secret !== 'string') return undefined;
    return { loginId: payload.login_id, secret: payload.refresh_secret };
  } catch (err) {
    if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return undefined;
    throw err;
  }
}
