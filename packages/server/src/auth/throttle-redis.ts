/**
 * The sign-in throttle's counters in Redis (`REDIS_URL`), for several server instances that
 * share them without a database round trip per attempt. Same rules as the database store
 * (throttle.ts): counted before the check, locks that double, a reset after a quiet window.
 *
 * Each operation is one Lua script, which Redis runs atomically: a burst of parallel guesses
 * on one key is counted one after the other and cannot slip past the limit. The time comes in
 * from the app's Clock (not Redis's TIME), so the rules are the same whichever store runs, and
 * tests move time with a fake clock. A key is `<prefix>throttle:<kind>:<sha-256 of kind:value>`
 * (never the raw email or address), a hash of attempts, lockouts, locked_until and last (ms),
 * with a PEXPIRE as long as it can matter: its window after the last attempt, or its lock.
 * Expiry is the cleanup, so `cleanup` has nothing to do.
 *
 * Fails closed: when Redis does not answer (ioredis' command timeout, see open-deps.ts) the
 * attempt is refused with 503 rather than let through unthrottled.
 *
 * Not here: opening and closing the connection (open-deps.ts); Redis Cluster (the scripts
 * touch several keys, which a cluster would need in one slot).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { outcomeError, type OutcomeError } from '../fhir/outcomes.js';
import type { CountOutcome, StoredThrottleKey, ThrottleStore, ThrottleTimes } from './throttle.js';

/**
 * KEYS: the keys. ARGV: now, window, first lock, longest lock (ms), then each key's limit.
 * Returns {wait} when a key is locked (nothing counted), else {0, locked by this attempt (1/0) per key}.
 * Numbers go back into Redis through string.format('%d'): Lua's default number format
 * could print a millisecond time in exponent notation.
 */
const COUNT_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local firstLock = tonumber(ARGV[3])
local maxLock = tonumber(ARGV[4])
local state = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local v = redis.call('HMGET', key, 'attempts', 'lockouts', 'locked_until', 'last')
  local attempts = tonumber(v[1]) or 0
  local lockouts = tonumber(v[2]) or 0
  local lockedUntil = tonumber(v[3]) or 0
  local last = tonumber(v[4]) or now
  if lockedUntil > now then
    wait = math.max(wait, lockedUntil - now)
  elseif now - last >= window then
    attempts = 0
    lockouts = 0
  end
  state[i] = { attempts, lockouts }
end
if wait > 0 then
  return { wait }
end
local result = { 0 }
for i, key in ipairs(KEYS) do
  local attempts = state[i][1] + 1
  local lockouts = state[i][2]
  local lockedUntil = 0
  local locked = 0
  if attempts >= tonumber(ARGV[4 + i]) then
    lockouts = lockouts + 1
    lockedUntil = now + math.min(firstLock * 2 ^ math.min(lockouts - 1, 30), maxLock)
    locked = 1
  end
  redis.call('HSET', key, 'attempts', string.format('%d', attempts), 'lockouts', string.format('%d', lockouts),
    'locked_until', string.format('%d', lockedUntil), 'last', string.format('%d', now))
  redis.call('PEXPIRE', key, string.format('%d', math.max(window, lockedUntil - now)))
  result[i + 1] = locked
end
return result
`;

/**
 * KEYS: the keys of a counted attempt that succeeded. ARGV: per key, `clear`, `undo`, or
 * `undo-lock` (undo, and this attempt had locked the key). A missing key (expired) stays missing.
 */
const SUCCEEDED_SCRIPT = `
for i, key in ipairs(KEYS) do
  local mode = ARGV[i]
  if mode == 'clear' then
    redis.call('DEL', key)
  elseif redis.call('EXISTS', key) == 1 then
    local attempts = tonumber(redis.call('HGET', key, 'attempts')) or 0
    redis.call('HSET', key, 'attempts', string.format('%d', math.max(attempts - 1, 0)))
    if mode == 'undo-lock' then
      local lockouts = tonumber(redis.call('HGET', key, 'lockouts')) or 0
      redis.call('HSET', key, 'lockouts', string.format('%d', math.max(lockouts - 1, 0)), 'locked_until', '0')
    end
  end
end
return #KEYS
`;

/** A script run by its SHA-1 (EVALSHA), sent in full (EVAL) only when Redis does not have it yet (after a restart or SCRIPT FLUSH). */
class LuaScript {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source, 'utf8').digest('hex');
  }

  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

const count = new LuaScript(COUNT_SCRIPT);
const succeeded = new LuaScript(SUCCEEDED_SCRIPT);

/** The 503 a sign-in gets while Redis does not answer: no attempt goes unthrottled. */
export function throttleUnavailable(): OutcomeError {
  return outcomeError(503, 'transient', 'Sign-in is unavailable for a moment; try again shortly');
}

export class RedisThrottleStore implements ThrottleStore {
  /**
   * @param keyPrefix `REDIS_KEY_PREFIX`, so several deployments (or test runs) can share one Redis.
   * @param onError told of every failed Redis call before the attempt is refused (for the log).
   */
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** The Redis key of a throttle key: the prefix, the kind, the hash. */
  redisKey(key: Pick<StoredThrottleKey, 'kind' | 'hash'>): string {
    return `${this.keyPrefix}throttle:${key.kind}:${key.hash}`;
  }

  async count(keys: StoredThrottleKey[], now: Date, times: ThrottleTimes): Promise<CountOutcome> {
    const args = [now.getTime(), times.windowMs, times.lockMs, times.maxLockMs, ...keys.map((k) => k.limit)];
    const reply = (await this.call(() => count.run(this.redis, keys.map((k) => this.redisKey(k)), args))) as number[];
    const [wait = 0, ...locked] = reply;
    if (wait > 0) return { waitMs: wait };
    return { lockedByThis: keys.map((_, i) => locked[i] === 1) };
  }

  async succeeded(keys: StoredThrottleKey[], lockedByThis: boolean[]): Promise<void> {
    const modes = keys.map((k, i) => (k.onSuccess === 'clear' ? 'clear' : lockedByThis[i] ? 'undo-lock' : 'undo'));
    await this.call(() => succeeded.run(this.redis, keys.map((k) => this.redisKey(k)), modes));
  }

  async clear(key: Pick<StoredThrottleKey, 'kind' | 'hash'>): Promise<void> {
    await this.call(() => this.redis.del(this.redisKey(key)));
  }

  /** Keys expire by themselves (PEXPIRE on every count): nothing to delete. */
  async cleanup(): Promise<number> {
    return 0;
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.onError(err);
      throw throttleUnavailable();
    }
  }
}
