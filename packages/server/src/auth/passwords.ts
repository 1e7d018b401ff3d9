/**
 * Password hashing with argon2id (OWASP parameters: 19 MiB, 2 iterations, 1 lane) and a
 * verification that takes the same time whether or not the account exists.
 */
import { hash, verify } from '@node-rs/argon2';

// 2 is Algorithm.Argon2id (a const enum, which isolated modules cannot read).
const OPTIONS = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string | undefined, password: string): Promise<boolean>;
}

let dummyHash: Promise<string> | undefined;

export const argon2Hasher: PasswordHasher = {
  hash: (password) => hash(password, OPTIONS),
  async verify(stored, password) {
    // With no stored hash, check against a dummy one so the answer takes as long.
    dummyHash ??= hash('tessera-dummy-password', OPTIONS);
    const target = stored ?? (await dummyHash);
    const ok = await verify(target, password).catch(() => false);
    return ok && stored !== undefined;
  },
};
