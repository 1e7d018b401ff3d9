/**
 * TOTP (RFC 6238) over HOTP (RFC 4226) with node:crypto: HMAC-SHA1, 6 digits, 30-second steps,
 * the parameters every authenticator app assumes. Secrets are 160 random bits (RFC 4226
 * section 4 recommends 160) in base32 (RFC 4648 section 6), the form otpauth URIs carry.
 * Pure functions: the time comes from the caller's clock; replay and throttling are mfa.ts's.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one: a code is good for about a minute and a half. */
export const TOTP_WINDOW = 1;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function encodeBase32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes base32 (case-insensitive, padding and spaces ignored); undefined when not base32. */
export function decodeBase32(text: string): Buffer | undefined {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) return undefined;
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function newTotpSecret(): string {
  return encodeBase32(randomBytes(20));
}

/** The HOTP value of a counter (RFC 4226 section 5.3: dynamic truncation), zero-padded. */
export function hotp(key: Buffer, counter: number, digits = TOTP_DIGITS): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The time step of an instant (RFC 6238 section 4.2, T0 = 0). */
export function totpStep(at: Date): number {
  return Math.floor(at.getTime() / 1000 / TOTP_STEP_SECONDS);
}

export function totpCode(secret: string, at: Date): string {
  return hotp(decodeBase32(secret) ?? Buffer.alloc(0), totpStep(at));
}

/**
 * The step whose code `token` is, within TOTP_WINDOW steps of `at`, or undefined. Every step of
 * the window is compared, in constant time, so the time taken does not say which one matched.
 */
export function matchTotp(secret: string, token: string, at: Date): number | undefined {
  const key = decodeBase32(secret);
  if (!key || key.length === 0 || !/^\d{6}$/.test(token)) return undefined;
  const current = totpStep(at);
  let matched: number | undefined;
  for (let step = current - TOTP_WINDOW; step <= current + TOTP_WINDOW; step++) {
    const same = timingSafeEqual(Buffer.from(hotp(key, step)), Buffer.from(token));
    if (same && matched === undefined) matched = step;
  }
  return matched;
}

/** The Key URI Format authenticator apps read (otpauth://totp/Issuer:account?secret=...&issuer=Issuer). */
export function totpEnrollUri(email: string, secret: string, issuer = 'Tessera'): string {
  return `otpauth://totp/${encodeURIComponent(issuer)}:${encodeURIComponent(email)}?secret=${secret}&issuer=${encodeURIComponent(issuer)}`;
}
