/**
 * The TOTP arithmetic against RFC 6238's own test vectors (Appendix B, SHA-1), base32 against
 * RFC 4648's (section 10), and the window and format rules of `matchTotp`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBase32, encodeBase32, hotp, matchTotp, newTotpSecret, totpCode, totpEnrollUri, totpStep } from '../src/auth/mfa-totp.js';

const RFC_KEY = Buffer.from('12345678901234567890', 'ascii');

describe('TOTP', () => {
  it('matches the RFC 6238 Appendix B vectors (SHA-1, 8 digits)', () => {
    const vectors: Array<[number, string]> = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [seconds, expected] of vectors) {
      assert.equal(hotp(RFC_KEY, totpStep(new Date(seconds * 1000)), 8), expected, `T=${seconds}`);
    }
  });

  it('encodes and decodes base32 as RFC 4648 section 10 does', () => {
    const vectors: Array<[string, string]> = [
      ['', ''],
      ['f', 'MY'],
      ['fo', 'MZXQ'],
      ['foo', 'MZXW6'],
      ['foob', 'MZXW6YQ'],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI'],
    ];
    for (const [plain, encoded] of vectors) {
      assert.equal(encodeBase32(Buffer.from(plain)), encoded);
      assert.equal(decodeBase32(`${encoded.toLowerCase()}===`)?.toString(), plain);
    }
    assert.equal(decodeBase32('not base32!'), undefined);
    assert.match(newTotpSecret(), /^[A-Z2-7]{32}$/);
  });

  it('accepts a code one step either side of now, and nothing else', () => {
    const secret = newTotpSecret();
    const now = new Date(1_700_000_000_000);
    const step = totpStep(now);
    for (const offset of [-1, 0, 1]) {
      const at = new Date(now.getTime() + offset * 30_000);
      assert.equal(matchTotp(secret, totpCode(secret, at), now), step + offset);
    }
    const far = totpCode(secret, new Date(now.getTime() + 2 * 30_000));
    if (![-1, 0, 1].some((o) => totpCode(secret, new Date(now.getTime() + o * 30_000)) === far)) {
      assert.equal(matchTotp(secret, far, now), undefined);
    }
    assert.equal(matchTotp(secret, '12345', now), undefined);
    assert.equal(matchTotp(secret, 'abcdef', now), undefined);
  });

  it('builds the otpauth URI authenticator apps read', () => {
    assert.equal(totpEnrollUri('ada@example.com', 'ABC234'), 'otpauth://totp/Tessera:ada%40example.com?secret=ABC234&issuer=Tessera');
  });
});
