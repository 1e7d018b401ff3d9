/**
 * Redirect URIs: a client's registered ones (Medplum's `redirectUri` and `redirectUris[]`), the
 * exact string comparison the authorize endpoint makes (RFC 9700 section 4.1.3: no prefix, no
 * normalisation, no case folding), and the record on the Login of the one an authorization
 * request used, so the code exchange can require the same value (RFC 6749 section 4.1.3).
 *
 * The Login resource has no field for it, so it is kept as an extension of the Login, which
 * only the server reads or writes (Login is unreachable through FHIR).
 */
import type { ClientApplication, Extension, Login } from '@medplum/fhirtypes';

export const REDIRECT_URI_EXTENSION = 'urn:tessera:oauth:authorize-redirect-uri';

export function registeredRedirectUris(client: ClientApplication): string[] {
  return [...(client.redirectUri ? [client.redirectUri] : []), ...(client.redirectUris ?? [])];
}

/**
 * True only for a byte-identical match with a registered URI that is itself usable: absolute,
 * without a fragment (RFC 6749 section 3.1.2), and not a `javascript:`/`data:` URL.
 */
export function isRegisteredRedirectUri(client: ClientApplication, candidate: string): boolean {
  return registeredRedirectUris(client).some((registered) => registered === candidate) && isUsableRedirectUri(candidate);
}

export function isUsableRedirectUri(uri: string): boolean {
  if (uri.includes('#')) return false;
  try {
    const url = new URL(uri);
    return !['javascript:', 'data:', 'vbscript:', 'file:', 'blob:'].includes(url.protocol);
  } catch {
    return false;
  }
}

/** The Login with the redirect URI of its authorization request recorded. */
export function withRedirectUri<T extends Login>(login: T, redirectUri: string): T {
  const others = (login.extension ?? []).filter((e) => e.url !== REDIRECT_URI_EXTENSION);
  const extension: Extension = { url: REDIRECT_URI_EXTENSION, valueUri: redirectUri };
  return { ...login, extension: [...others, extension] };
}

/** The redirect URI the login's authorization request used, if it came through `/oauth2/authorize`. */
export function loginRedirectUri(login: Login): string | undefined {
  return login.extension?.find((e) => e.url === REDIRECT_URI_EXTENSION)?.valueUri;
}
