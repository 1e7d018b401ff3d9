/**
 * The keys that sign the server's JWTs, kept in the database (`signing_key`) so every
 * instance signs and verifies with the same ones. The first instance to start generates an
 * RS256 key under an advisory lock; the others load it. Public keys are published at
 * `/.well-known/jwks.json`. A token whose `kid` is unknown is refused: there is no
 * "try every key" fallback (security-notes, JWT specifics).
 */
import { decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Database } from '../db/database.js';
import type { Clock, Random } from '../deps.js';

export const SIGNING_ALG = 'RS256';
const KEYGEN_LOCK_KEY = '7608722100001';

export interface KeyStore {
  /** The key new tokens are signed with. */
  signingKey(): { kid: string; key: CryptoKey };
  /** The public key for a `kid`, or undefined when it is not one of ours or no longer active. */
  verificationKey(kid: string): Promise<CryptoKey | undefined>;
  /** The public JWK Set. */
  jwks(): { keys: JWK[] };
}

interface KeyRow {
  kid: string;
  alg: string;
  public_jwk: JWK;
  private_jwk: JWK;
}

export async function openKeyStore(db: Database, deps: { clock: Clock; random: Random }): Promise<KeyStore> {
  const rows = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [KEYGEN_LOCK_KEY]);
    const existing = await tx.query<KeyRow>('SELECT kid, alg, public_jwk, private_jwk FROM signing_key WHERE active ORDER BY created_at');
    if (existing.rows.length > 0) {
      return existing.rows;
    }
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
    const kid = deps.random.uuid();
    const row: KeyRow = {
      kid,
      alg: SIGNING_ALG,
      public_jwk: { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' },
      private_jwk: { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG },
    };
    await tx.query(
      'INSERT INTO signing_key (kid, alg, public_jwk, private_jwk, created_at) VALUES ($1, $2, $3::jsonb, $4::jsonb, $5)',
      [kid, SIGNING_ALG, JSON.stringify(row.public_jwk), JSON.stringify(row.private_jwk), deps.clock.now()],
    );
    return [row];
  });

  const publicKeys = new Map<string, CryptoKey>();
  for (const row of rows) {
    publicKeys.set(row.kid, (await importJWK(row.public_jwk, row.alg)) as CryptoKey);
  }
  const newest = rows[rows.length - 1] as KeyRow;
  const signing = { kid: newest.kid, key: (await importJWK(newest.private_jwk, newest.alg)) as CryptoKey };
  const published = rows.map((r) => r.public_jwk);

  return {
    signingKey: () => signing,
    async verificationKey(kid) {
      const known = publicKeys.get(kid);
      if (known) {
        return known;
      }
      // Another instance may have added a key since this one started: look it up by kid only.
      const { rows: found } = await db.query<KeyRow>('SELECT kid, alg, public_jwk, private_jwk FROM signing_key WHERE kid = $1 AND active', [kid]);
      const row = found[0];
      if (!row) {
        return undefined;
      }
      const key = (await importJWK(row.public_jwk, row.alg)) as CryptoKey;
      publicKeys.set(kid, key);
      published.push(row.public_jwk);
      return key;
    },
    jwks: () => ({ keys: [...published] }),
  };
}

const KID_PATTERN = /^[A-Za-z0-9\-_.]{1,128}$/;

/**
 * The public key named by a JWT's `kid` header when it is one of ours; undefined for a
 * malformed header or a `kid` that is not a short plain string (the header is the sender's,
 * and an odd value must not reach the key lookup's SQL).
 */
export async function keyForJwt(keys: KeyStore, token: string): Promise<CryptoKey | undefined> {
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    return undefined;
  }
  return typeof kid === 'string' && KID_PATTERN.test(kid) ? keys.verificationKey(kid) : undefined;
}
