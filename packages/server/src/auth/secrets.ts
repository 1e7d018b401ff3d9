/**
 * One-time secrets (authorization codes, refresh secrets, reset links): 256 random bits,
 * stored only as a SHA-256 hash, compared in constant time. A hash is enough at rest because
 * the secrets are random, not chosen by people (unlike passwords, which use argon2id).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Compares a presented secret with a stored hash in time that does not depend on where they differ. */
export function secretMatches(presented: string, storedHash: string | undefined): boolean {
  const expected = Buffer.from(storedHash ?? '0'.repeat(64), 'hex');
  const actual = Buffer.from(hashSecret(presented), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual) && storedHash !== undefined;
}
