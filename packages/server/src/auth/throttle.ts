/**
 * Throttling of guesses: passwords (per account and per client address), TOTP codes (per
 * user), set-password secrets (per link), and reset mails (per address). ASVS V6.3.1 and
 * (4.0.3) 2.2.1; the shape follows Keycloak's brute-force detection: a temporary lock whose
 * length doubles, never a permanent one.
 *
 * How it counts: an attempt is counted *before* the secret is checked, in one atomic step
 * over all its keys, so a burst of parallel guesses cannot slip past the limit; a success
 * then clears the account's counter (or, for a shared key such as an address, takes back its
 * own count). The attempt that reaches the limit locks the key; the next ones answer 429 with
 * `Retry-After`, are not counted, and run no check at all. When a lock ends the counter is
 * still at the limit, so each further failure locks again for twice as long, until the key has
 * been quiet for a whole window.
 *
 * Where the counters live is a `ThrottleStore`, shared by every server instance: the
 * `auth_throttle` table (migration 0005; `DatabaseThrottleStore` below, one transaction that
 * locks the keys' rows), or Redis when `REDIS_URL` is set (throttle-redis.ts, one Lua script).
 * Both get the time from the app's Clock and see keys only as hashes.
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

/** A key as a store sees it: its kind and the hash of its value, never the value itself. */
export interface StoredThrottleKey {
  kind: ThrottleKind;
  hash: string;
  limit: number;
  onSuccess: 'clear' | 'undo';
}

/** The settings' durations, in milliseconds, as each store operation needs them. */
export interface ThrottleTimes {
  windowMs: number;
  /** The first lock. */
  lockMs: number;
  maxLockMs: number;
}

/** How long the `lockouts`-th lock in a window lasts: doubling from the first, capped. */
export function lockDurationMs(lockouts: number, times: ThrottleTimes): number {
  return Math.min(times.lockMs * 2 ** Math.min(lockouts - 1, 30), times.maxLockMs);
}

/** Either the longest wait left on a locked key (nothing counted), or, per key in order, whether this attempt locked it. */
export type CountOutcome = { waitMs: number } | { lockedByThis: boolean[] };

/**
 * Storage of the counters. Each operation is atomic over all its keys: two attempts counted
 * at once on the same key both see the other's count.
 */
export interface ThrottleStore {
  /**
   * When a key is locked at `now`, counts nothing and returns the wait; otherwise counts one
   * attempt on every key (from zero on a key quiet for a whole window) and locks the keys that
   * reach their limit.
   */
  count(keys: StoredThrottleKey[], now: Date, times: ThrottleTimes): Promise<CountOutcome>;
  /** A counted attempt succeeded: `clear` keys forget everything; `undo` keys lose this attempt (and the lock it made). */
  succeeded(keys: StoredThrottleKey[], lockedByThis: boolean[]): Promise<void>;
  clear(key: Pick<StoredThrottleKey, 'kind' | 'hash'>): Promise<void>;
  /** Forgets keys quiet for a whole window and not locked; returns how many (a store whose keys expire by themselves returns 0). */
  cleanup(now: Date, windowMs: number): Promise<number>;
}

interface Row {
  attempts: number;
  lockouts: number;
  locked_until: Date | null;
  last_attempt_at: Date;
}

/** The keys with their positions, in the one order every transaction locks their rows in, so two cannot deadlock. */
function lockOrder(keys: StoredThrottleKey[]): Array<{ key: StoredThrottleKey; index: number }> {
  return keys.map((key, index) => ({ key, index })).sort((a, b) => (a.key.kind + a.key.hash < b.key.kind + b.key.hash ? -1 : 1));
}

/** The counters in the `auth_throttle` table: each count is one transaction that locks the keys' rows. */
export class DatabaseThrottleStore implements ThrottleStore {
  constructor(private readonly db: Database) {}

  async count(keys: StoredThrottleKey[], now: Date, times: ThrottleTimes): Promise<CountOutcome> {
    const order = lockOrder(keys);
    return this.db.transaction(async (tx): Promise<CountOutcome> => {
      const rows: Row[] = [];
      for (const { key } of order) rows.push(await this.lockRow(tx, key, now, times.windowMs));
      const waitMs = Math.max(0, ...rows.map((r) => (r.locked_until ? r.locked_until.getTime() - now.getTime() : 0)));
      if (waitMs > 0) return { waitMs };
      const lockedByThis: boolean[] = new Array<boolean>(keys.length).fill(false);
      for (const [i, { key, index }] of order.entries()) {
        const row = rows[i] as Row;
        const attempts = row.attempts + 1;
        const locks = attempts >= key.limit;
        const lockouts = locks ? row.lockouts + 1 : row.lockouts;
        const lockedUntil = locks ? new Date(now.getTime() + lockDurationMs(lockouts, times)) : null;
        await tx.query(
          'UPDATE auth_throttle SET attempts = $3, lockouts = $4, locked_until = $5, last_attempt_at = $6 WHERE kind = $1 AND key_hash = $2',
          [key.kind, key.hash, attempts, lockouts, lockedUntil, now],
        );
        lockedByThis[index] = locks;
      }
      return { lockedByThis };
    });
  }

  async succeeded(keys: StoredThrottleKey[], lockedByThis: boolean[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const { key, index } of lockOrder(keys)) {
        if (key.onSuccess === 'clear') {
          await tx.query('DELETE FROM auth_throttle WHERE kind = $1 AND key_hash = $2', [key.kind, key.hash]);
        } else {
          await tx.query(
            `UPDATE auth_throttle SET attempts = greatest(attempts - 1, 0),
                    lockouts = CASE WHEN $3::boolean THEN greatest(lockouts - 1, 0) ELSE lockouts END,
                    locked_until = CASE WHEN $3::boolean THEN NULL ELSE locked_until END
              WHERE kind = $1 AND key_hash = $2`,
            [key.kind, key.hash, lockedByThis[index] === true],
          );
        }
      }
    });
  }

  async clear(key: Pick<StoredThrottleKey, 'kind' | 'hash'>): Promise<void> {
    await this.db.query('DELETE FROM auth_throttle WHERE kind = $1 AND key_hash = $2', [key.kind, key.hash]);
  }

  async cleanup(now: Date, windowMs: number): Promise<number> {
    const quietSince = new Date(now.getTime() - windowMs);
    const { rowCount } = await this.db.query('DELETE FROM auth_throttle WHERE last_attempt_at < $1 AND (locked_until IS NULL OR locked_until < $2)', [quietSince, now]);
    return rowCount;
  }

  /** The key's row, locked for this transaction, made if missing, and reset when its window has passed. */
  private async lockRow(tx: Queryable, key: StoredThrottleKey, now: Date, windowMs: number): Promise<Row> {
    await tx.query('INSERT INTO auth_throttle (kind, key_hash, last_attempt_at) VALUES ($1, $2, $3) ON CONFLICT (kind, key_hash) DO NOTHING', [key.kind, key.hash, now]);
    const { rows } = await tx.query<Row>('SELECT attempts, lockouts, locked_until, last_attempt_at FROM auth_throttle WHERE kind = $1 AND key_hash = $2 FOR UPDATE', [key.kind, key.hash]);
    const row = rows[0] as Row;
    const locked = row.locked_until !== null && row.locked_until.getTime() > now.getTime();
    const quiet = now.getTime() - row.last_attempt_at.getTime() >= windowMs;
    if (!locked && quiet) return { attempts: 0, lockouts: 0, locked_until: null, last_attempt_at: now };
    return { ...row, locked_until: locked ? row.locked_until : null };
  }
}

/** An attempt that was let through: report a success so it does not count as a failure. */
export interface ThrottleAttempt {
  succeeded(): Promise<void>;
}

const CLEANUP_INTERVAL_MS = 10 * 60 * 1000;

/**
 * Deletes stale rows every ten minutes while the app runs. Every instance does it; the delete
 * is cheap (indexed) and harmless to repeat. A timer rather than a step of each attempt keeps
 * sign-in requests from paying for it. (Redis keys expire by themselves: there it does nothing.)
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
  private readonly clock: Clock;
  private readonly store: ThrottleStore;

  /** `throttleStore` is AppDeps' (Redis or the database, open-deps.ts); without one, the database's. */
  constructor(
    deps: { db: Database; clock: Clock; throttleStore?: ThrottleStore | undefined },
    readonly settings: ThrottleSettings = DEFAULT_THROTTLE_SETTINGS,
  ) {
    this.clock = deps.clock;
    this.store = deps.throttleStore ?? new DatabaseThrottleStore(deps.db);
  }

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
    const stored = keys.map(storedKey);
    const result = await this.store.count(stored, this.clock.now(), this.times());
    if ('waitMs' in result) throw new ThrottledError(Math.ceil(result.waitMs / 1000));
    return { succeeded: () => this.store.succeeded(stored, result.lockedByThis) };
  }

  /** Forgets a key's failures and lock (an account whose owner just proved control of its mailbox). */
  async clear(key: ThrottleKey): Promise<void> {
    await this.store.clear(storedKey(key));
  }

  /** Deletes counters that no longer hold anything: quiet for a whole window and not locked. Returns how many. */
  async cleanup(now = this.clock.now()): Promise<number> {
    return this.store.cleanup(now, this.settings.windowSeconds * 1000);
  }

  private times(): ThrottleTimes {
    return { windowMs: this.settings.windowSeconds * 1000, lockMs: this.settings.lockSeconds * 1000, maxLockMs: this.settings.maxLockSeconds * 1000 };
  }
}

function storedKey(key: ThrottleKey): StoredThrottleKey {
  return { kind: key.kind, hash: hashSecret(`${key.kind}:${key.value}`), limit: key.limit, onSuccess: key.onSuccess };
}
