/**
 * Throttling of guesses: passwords (per account and per client address), TOTP codes (per
 * user), set-password secrets (per link), and reset mails (per address). ASVS V6.3.1 and
 * (4.0.3) 2.2.1; the shape follows Keycloak's brute-force detection: a temporary lock whose
 * length doubles, never a permanent one.
 *
 * How it counts: an attempt is counted *before* the secret is checked, in one transaction that
 * locks the key's row, so a burst of parallel guesses cannot slip past the limit; a success
 * then clears the account's counter (or, for a shared key such as an address, takes back its
 * own count). The attempt that reaches the limit locks the key; the next ones answer 429 with
 * `Retry-After`, are not counted, and run no check at all. When a lock ends the counter is
 * still at the limit, so each further failure locks again for twice as long, until the key has
 * been quiet for a whole window. State lives in the `auth_throttle` table (migration 0005), so
 * every server instance sees the same counters.
 *
 * Not here: which keys a check uses (the callers decide), the dummy password hash that keeps a
 * refused attempt as slow as a checked one (login-flow.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Database, Queryable } from '../db/database.js';
import type { Clock } from '../deps.js';
import { OutcomeError, outcome } from '../fhir/outcomes.js';
import { hashSecret } from './secrets.js';

export type ThrottleKind = 'account' | 'ip' | 'mfa' | 'secret' | 'reset-mail';

export interface ThrottleSettings {
  /** Failed attempts on one email (existing or not) before it locks. */
  accountMaxFailures: number;
  /** Failed attempts from one client address, whatever the account, before it locks. */
  ipMaxFailures: number;
  /** Wrong TOTP codes for one user before MFA locks (10^6 codes, 3 valid at a time: kept low). */
  mfaMaxFailures: number;
  /** Reset mails sent to one address in a window; later requests still answer 200 but send nothing. */
  resetMailsPerWindow: number;
  /** A key with no attempt for this long starts again from zero. */
  windowSeconds: number;
  /** The first lock; each next one in the same window lasts twice as long. */
  lockSeconds: number;
  maxLockSeconds: number;
}

export const DEFAULT_THROTTLE_SETTINGS: ThrottleSettings = Object.freeze({
  accountMaxFailures: 20,
  ipMaxFailures: 20,
  mfaMaxFailures: 5,
  resetMailsPerWindow: 5,
  windowSeconds: 3600,
  lockSeconds: 60,
  maxLockSeconds: 900,
});

export function throttleSettingsFrom(config: Config): ThrottleSettings {
  return {
    ...DEFAULT_THROTTLE_SETTINGS,
    accountMaxFailures: config.authMaxFailures,
    ipMaxFailures: config.authIpMaxFailures,
    windowSeconds: config.authThrottleWindowSeconds,
    lockSeconds: config.authLockSeconds,
    maxLockSeconds: config.authMaxLockSeconds,
  };
}

export interface ThrottleKey {
  kind: ThrottleKind;
  /** What is counted: an email, an address, an id. Stored only as a hash. */
  value: string;
  limit: number;
  /** On success: `clear` forgets the key's failures (an account); `undo` takes back this attempt only (an address). */
  onSuccess: 'clear' | 'undo';
}

/** A refused attempt: 429 with `Retry-After` (set by `addRetryAfterHeader`), the same body whichever key is locked. */
export class ThrottledError extends OutcomeError {
  constructor(readonly retryAfterSeconds: number) {
    super(429, outcome('throttled', 'Too many attempts; try again later'));
    this.name = 'ThrottledError';
  }
}

/** Sets `Retry-After` (RFC 9110 section 10.2.3) on the 429 a ThrottledError becomes, in this plugin's routes. */
export function addRetryAfterHeader(app: FastifyInstance): void {
  app.addHook('onError', async (_request, reply, error) => {
    if (error instanceof ThrottledError) {
      reply.header('Retry-After', String(error.retryAfterSeconds));
    }
  });
}

interface Row {
  attempts: number;
  lockouts: number;
  locked_until: Date | null;
  last_attempt_at: Date;
}

interface Counted {
  key: ThrottleKey;
  hash: string;
  lockedByThis: boolean;
}

/** An attempt that was let through: report a success so it does not count as a failure. */
export interface ThrottleAttempt {
  succeeded(): Promise<void>;
}

const CLEANUP_INTERVAL_MS = 10 * 60 * 1000;

/**
 * Deletes stale rows every ten minutes while the app runs. Every instance does it; the delete
 * is cheap (indexed) and harmless to repeat. A timer rather than a step of each attempt keeps
 * sign-in requests from paying for it.
 */
export function scheduleThrottleCleanup(app: FastifyInstance, throttle: LoginThrottle, intervalMs = CLEANUP_INTERVAL_MS): void {
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    timer = setInterval(() => {
      throttle.cleanup().catch((err: unknown) => app.log.error({ err }, 'sign-in throttle cleanup failed'));
    }, intervalMs);
    timer.unref();
  });
  app.addHook('onClose', async () => clearInterval(timer));
}

export class LoginThrottle {
  constructor(
    private readonly deps: { db: Database; clock: Clock },
    readonly settings: ThrottleSettings = DEFAULT_THROTTLE_SETTINGS,
  ) {}

  accountKey(email: string): ThrottleKey {
    return { kind: 'account', value: email.trim().toLowerCase(), limit: this.settings.accountMaxFailures, onSuccess: 'clear' };
  }

  ipKey(address: string): ThrottleKey {
    return { kind: 'ip', value: address, limit: this.settings.ipMaxFailures, onSuccess: 'undo' };
  }

  /** The account key, and the address key when the caller's address is known. */
  passwordKeys(email: string, remoteAddress: string | undefined): ThrottleKey[] {
    return remoteAddress ? [this.accountKey(email), this.ipKey(remoteAddress)] : [this.accountKey(email)];
  }

  /** Counts an attempt on every key, or throws ThrottledError (counting nothing) when one of them is locked. */
  async begin(keys: ThrottleKey[]): Promise<ThrottleAttempt> {
    const now = this.deps.clock.now();
    // A fixed order of row locks, so two attempts on the same keys cannot deadlock.
    const hashed = keys.map((key) => ({ key, hash: hashSecret(`${key.kind}:${key.value}`) })).sort((a, b) => (a.key.kind + a.hash < b.key.kind + b.hash ? -1 : 1));
    const result = await this.deps.db.transaction(async (tx): Promise<{ wait: number } | { counted: Counted[] }> => {
      const rows: Row[] = [];
      for (const { key, hash } of hashed) rows.push(await this.lockRow(tx, key.kind, hash, now));
      const wait = Math.max(0, ...rows.map((r) => (r.locked_until ? Math.ceil((r.locked_until.getTime() - now.getTime()) / 1000) : 0)));
      if (wait > 0) return { wait };
      const counted: Counted[] = [];
      for (const [i, { key, hash }] of hashed.entries()) {
        const row = rows[i] as Row;
        const attempts = row.attempts + 1;
        const lockedByThis = attempts >= key.limit;
        const lockouts = lockedByThis ? row.lockouts + 1 : row.lockouts;
        const lockedUntil = lockedByThis ? new Date(now.getTime() + this.lockMs(lockouts)) : null;
        await tx.query(
          'UPDATE auth_throttle SET attempts = $3, lockouts = $4, locked_until = $5, last_attempt_at = $6 WHERE kind = $1 AND key_hash = $2',
          [key.kind, hash, attempts, lockouts, lockedUntil, now],
        );
        counted.push({ key, hash, lockedByThis });
      }
      return { counted };
    });
    if ('wait' in result) throw new ThrottledError(result.wait);
    return { succeeded: () => this.succeed(result.counted) };
  }

  /** Forgets a key's failures and lock (an account whose owner just proved control of its mailbox). */
  async clear(key: ThrottleKey): Promise<void> {
    await this.deps.db.query('DELETE FROM auth_throttle WHERE kind = $1 AND key_hash = $2', [key.kind, hashSecret(`${key.kind}:${key.value}`)]);
  }

  /** Deletes rows that no longer hold anything: quiet for a whole window and not locked. Returns how many. */
  async cleanup(now = this.deps.clock.now()): Promise<number> {
    const quietSince = new Date(now.getTime() - this.settings.windowSeconds * 1000);
    const { rowCount } = await this.deps.db.query('DELETE FROM auth_throttle WHERE last_attempt_at < $1 AND (locked_until IS NULL OR locked_until < $2)', [quietSince, now]);
    return rowCount;
  }

  private lockMs(lockouts: number): number {
    const seconds = Math.min(this.settings.lockSeconds * 2 ** Math.min(lockouts - 1, 30), this.settings.maxLockSeconds);
    return seconds * 1000;
  }

  /** The key's row, locked for this transaction, made if missing, and reset when its window has passed. */
  private async lockRow(tx: Queryable, kind: ThrottleKind, hash: string, now: Date): Promise<Row> {
    await tx.query('INSERT INTO auth_throttle (kind, key_hash, last_attempt_at) VALUES ($1, $2, $3) ON CONFLICT (kind, key_hash) DO NOTHING', [kind, hash, now]);
    const { rows } = await tx.query<Row>('SELECT attempts, lockouts, locked_until, last_attempt_at FROM auth_throttle WHERE kind = $1 AND key_hash = $2 FOR UPDATE', [kind, hash]);
    const row = rows[0] as Row;
    const locked = row.locked_until !== null && row.locked_until.getTime() > now.getTime();
    const quiet = now.getTime() - row.last_attempt_at.getTime() >= this.settings.windowSeconds * 1000;
    if (!locked && quiet) return { attempts: 0, lockouts: 0, locked_until: null, last_attempt_at: now };
    return { ...row, locked_until: locked ? row.locked_until : null };
  }

  private async succeed(counted: Counted[]): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      for (const { key, hash, lockedByThis } of counted) {
        if (key.onSuccess === 'clear') {
          await tx.query('DELETE FROM auth_throttle WHERE kind = $1 AND key_hash = $2', [key.kind, hash]);
        } else {
          await tx.query(
            `UPDATE auth_throttle SET attempts = greatest(attempts - 1, 0),
                    lockouts = CASE WHEN $3::boolean THEN greatest(lockouts - 1, 0) ELSE lockouts END,
                    locked_until = CASE WHEN $3::boolean THEN NULL ELSE locked_until END
              WHERE kind = $1 AND key_hash = $2`,
            [key.kind, hash, lockedByThis],
          );
        }
      }
    });
  }
}
