/**
 * PKCE (RFC 7636). Only S256 is accepted: `plain` gives no protection against a stolen code
 * and is refused (security-notes, design rule 6; OAuth 2.1).
 */
import { createHash } from 'node:crypto';

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const CHALLENGE = /^[A-Za-z0-9\-_]{43}$/;

export function isValidCodeChallenge(challenge: string): boolean {
  return CHALLENGE.test(challenge);
}

export function verifyPkce(challenge: string, verifier: string): boolean {
  if (!VERIFIER.test(verifier)) {
    return false;
  }
  const computed = createHash('sha256').update(verifier, 'ascii').digest('base64url');
  // Both are public-length base64url strings derived from secrets; compare without early exit.
  let diff = computed.length ^ challenge.length;
  for (let i = 0; i < computed.length; i++) {
    diff |= computed.charCodeAt(i) ^ (challenge.charCodeAt(i) || 0);
  }
  return diff === 0;
}
