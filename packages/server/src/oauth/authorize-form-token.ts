/**
 * CSRF protection of the sign-in page (security-notes, "CSRF and login forms"): a random
 * cookie (HttpOnly, SameSite=Strict, `__Host-` on https) and, in each form, a token signed
 * with the server's own keys that names the SHA-256 of that cookie, what the form is for, the
 * authorization request it continues and, for the membership choice, the Login. A forged
 * POST has neither the cookie nor a token bound to it; a token copied from another browser
 * does not match its cookie. Signed with the database-held keys, it is checked by any instance.
 * Its `typ` keeps it from ever passing for an access token, and an access token for it.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import type { TokenDeps } from '../auth/access-token.js';
import { SIGNING_ALG, keyForJwt } from '../auth/key-store.js';
import { newSecret } from '../auth/secrets.js';

const FORM_TOKEN_TYPE = 'authorize-form+jwt';
/** How long a sign-in page may stay open before its form must be reloaded. */
export const FORM_TOKEN_LIFETIME_SECONDS = 1800;
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

export type FormPurpose = 'sign-in' | 'mfa' | 'choose';

export interface FormTokenClaims {
  purpose: FormPurpose;
  /** The authorization request's parameters, checked again when the form comes back. */
  request: Record<string, string>;
  /** The pending Login, for the MFA step and the membership choice. */
  login?: string;
}

export function csrfCookieName(issuer: string): string {
  return issuer.startsWith('https:') ? '__Host-tessera-authorize' : 'tessera-authorize';
}

/** The browser's CSRF cookie, when it sent a well-formed one. */
export function readCsrfCookie(request: FastifyRequest, issuer: string): string | undefined {
  const name = csrfCookieName(issuer);
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    const value = rest.join('=');
    if (key === name && COOKIE_VALUE.test(value)) return value;
  }
  return undefined;
}

/** The cookie to set: the browser's own value again (its lifetime renewed with each form), or a new one. */
export function csrfCookie(issuer: string, existing?: string): { value: string; header: string } {
  const value = existing ?? newSecret();
  const secure = issuer.startsWith('https:') ? '; Secure' : '';
  return { value, header: `${csrfCookieName(issuer)}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${FORM_TOKEN_LIFETIME_SECONDS}${secure}` };
}

const cookieHash = (cookie: string): string => createHash('sha256').update(cookie, 'utf8').digest('base64url');

export async function signFormToken(deps: TokenDeps, cookie: string, claims: FormTokenClaims): Promise<string> {
  const { kid, key } = deps.keys.signingKey();
  const now = Math.floor(deps.clock.now().getTime() / 1000);
  return new SignJWT({ csrf: cookieHash(cookie), purpose: claims.purpose, request: claims.request, ...(claims.login ? { login: claims.login } : {}) })
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: FORM_TOKEN_TYPE })
    .setIssuer(deps.issuer)
    .setAudience(`${deps.issuer}oauth2/authorize`)
    .setIssuedAt(now)
    .setExpirationTime(now + FORM_TOKEN_LIFETIME_SECONDS)
    .sign(key);
}

/** The claims of a form token made for this cookie and purpose, or undefined. */
export async function verifyFormToken(deps: TokenDeps, token: string | undefined, cookie: string | undefined, purpose: FormPurpose): Promise<FormTokenClaims | undefined> {
  if (!token || !cookie) return undefined;
  try {
    const key = await keyForJwt(deps.keys, token);
    if (!key) return undefined;
    const { payload } = await jwtVerify(token, key, {
      algorithms: [SIGNING_ALG],
      issuer: deps.issuer,
      audience: `${deps.issuer}oauth2/authorize`,
      typ: FORM_TOKEN_TYPE,
      currentDate: deps.clock.now(),
      requiredClaims: ['exp', 'csrf', 'purpose', 'request'],
    });
    if (payload.csrf !== cookieHash(cookie) || payload.purpose !== purpose) return undefined;
    const request = payload.request;
    if (!request || typeof request !== 'object' || Object.values(request).some((v) => typeof v !== 'string')) return undefined;
    const login = typeof payload.login === 'string' ? payload.login : undefined;
    return { purpose, request: request as Record<string, string>, ...(login ? { login } : {}) };
  } catch (err) {
    if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return undefined;
    throw err;
  }
}
