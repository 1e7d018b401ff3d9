/**
 * The sign-in throttle in Redis (REDIS_URL): two server instances on one database and one
 * Redis key prefix share counts and locks through Redis (not the auth_throttle table); keys
 * are hashes with an expiry; the time is the app's clock; a flushed script cache is survived.
 * Needs a Redis (TEST_REDIS_URL, set by `npm run test:pg`); the PGlite run has none and skips
 * that part. Without Redis answering, a sign-in is refused (503) rather than let through, and
 * /healthz says so: that part needs no Redis and runs in both runs.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { hashSecret } from '../src/auth/secrets.js';
import { DEFAULT_THROTTLE_SETTINGS } from '../src/auth/throttle.js';
import { RedisThrottleStore } from '../src/auth/throttle-redis.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { createAccount, freshAddress, login, uniqueEmail, PASSWORD } from './auth-client.js';
import { freePort, startTestServer, testRedis, type TestServer } from './harness.js';

const WRONG = 'not the right passphrase';
const WINDOW_MS = DEFAULT_THROTTLE_SETTINGS.windowSeconds * 1000;
const redisSettings = testRedis();

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

describe('sign-in throttle in Redis, shared by two instances', { skip: redisSettings ? false : 'no TEST_REDIS_URL (the PostgreSQL run, npm run test:pg, has one)' }, () => {
  const url = redisSettings?.url ?? '';
  const keyPrefix = `tessera-test-throttle-${randomBytes(6).toString('hex')}:`;
  const accountKey = (email: string): string => `${keyPrefix}throttle:account:${hashSecret(`account:${email}`)}`;
  let a: TestServer;
  let b: TestServer;
  let redis: Redis;

  before(async () => {
    redis = new Redis(url, { lazyConnect: true });
    await redis.connect();
    a = await startTestServer({ redis: { url, keyPrefix } });
    b = await startTestServer({ db: a.deps.db, redis: { url, keyPrefix } });
  });

  after(async () => {
    await b?.app.close();
    await a?.close();
    const keys = await keysUnder(redis, keyPrefix);
    if (keys.length > 0) await redis.del(...keys);
    assert.deepEqual(await keysUnder(redis, keyPrefix), []);
    await redis.quit();
  });

  it('locks on one instance what failed on the other, counted in Redis under the prefix and not in the database', async () => {
    const email = uniqueEmail('redis-shared');
    for (let i = 0; i < 20; i++) {
      const server = i % 2 === 0 ? a : b;
      assert.equal((await login(server, email, WRONG, { from: freshAddress() })).status, 400);
    }
    const locked = await login(b, email, WRONG, { from: freshAddress() });
    assert.equal(locked.status, 429, JSON.stringify(locked.body));
    assert.equal(locked.headers['retry-after'], '60');
    assert.equal((await login(a, email, WRONG, { from: freshAddress() })).status, 429);

    const stored = await redis.hgetall(accountKey(email));
    assert.equal(stored.attempts, '20');
    assert.equal(stored.lockouts, '1');
    assert.equal(Number(stored.locked_until), Number(stored.last) + 60_000);
    const ttl = await redis.pttl(accountKey(email));
    assert.ok(ttl > 0 && ttl <= WINDOW_MS, `PTTL ${ttl}`);
    // Only hashes: no key names the email.
    assert.ok((await keysUnder(redis, keyPrefix)).every((k) => !k.includes(email) && /^[^:]+:throttle:(account|ip|mfa|secret|reset-mail):[0-9a-f]{64}$/.test(k)));
    const { rowCount } = await a.deps.db.query('SELECT 1 FROM auth_throttle WHERE kind = $1 AND key_hash = $2', ['account', hashSecret(`account:${email}`)]);
    assert.equal(rowCount, 0);
  });

  it('takes the time from the app clock: the lock ends on the instance whose clock has moved on', async () => {
    const email = uniqueEmail('redis-clock');
    for (let i = 0; i < 20; i++) await login(a, email, WRONG, { from: freshAddress() });
    assert.equal((await login(b, email, WRONG, { from: freshAddress() })).status, 429);
    b.clock.advance(61_000);
    // Redis's own time says the lock has 60 s to go; B's clock says it is over.
    assert.equal((await login(b, email, WRONG, { from: freshAddress() })).status, 400);
    const again = await login(b, email, WRONG, { from: freshAddress() });
    assert.equal(again.status, 429);
    assert.equal(again.headers['retry-after'], '120');
  });

  it('lets no more than 20 parallel guesses through, spread over both instances', async () => {
    // The test before moved B's clock on by 61 s: bring both to the same time, as real
    // instances' clocks are, or a lock A sets would already be over by B's clock.
    const skew = b.clock.now().getTime() - a.clock.now().getTime();
    if (skew > 0) a.clock.advance(skew);
    else b.clock.advance(-skew);
    const email = uniqueEmail('redis-burst');
    const results = await Promise.all(Array.from({ length: 26 }, (_, i) => login(i % 2 === 0 ? a : b, email, WRONG, { from: freshAddress() })));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 400).length, 20, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 6, statuses.join(','));
  });

  it('clears the account on a successful sign-in and still works after Redis forgets its scripts', async () => {
    const { email } = await createAccount(a);
    for (let i = 0; i < 5; i++) await login(a, email, WRONG, { from: freshAddress() });
    assert.equal(await redis.hget(accountKey(email), 'attempts'), '5');
    // As after a Redis restart: EVALSHA answers NOSCRIPT and the store sends the script itself.
    await redis.script('FLUSH');
    assert.equal((await login(b, email, PASSWORD, { from: freshAddress() })).status, 200);
    assert.equal(await redis.exists(accountKey(email)), 0);
    await login(a, email, WRONG, { from: freshAddress() });
    assert.equal(await redis.hget(accountKey(email), 'attempts'), '1');
  });

  it('keeps a key as long as its lock when the lock outlasts the window', async () => {
    const store = new RedisThrottleStore(redis, keyPrefix);
    const key = { kind: 'account' as const, hash: hashSecret(`account:${uniqueEmail('redis-ttl')}`), limit: 1, onSuccess: 'clear' as const };
    const now = new Date();
    const times = { windowMs: 1000, lockMs: 600_000, maxLockMs: 900_000 };
    assert.deepEqual(await store.count([key], now, times), { lockedByThis: [true] });
    const ttl = await redis.pttl(store.redisKey(key));
    assert.ok(ttl > 590_000 && ttl <= 600_000, `PTTL ${ttl}`);
    assert.deepEqual(await store.count([key], new Date(now.getTime() + 1000), times), { waitMs: 599_000 });
  });
});

describe('sign-in throttle when Redis does not answer', () => {
  let server: TestServer;

  before(async () => {
    // A port nothing listens on: every connection is refused.
    server = await startTestServer({ redis: { url: `redis://127.0.0.1:${await freePort()}`, keyPrefix: 'tessera-test-down:' } });
  });
  after(() => server?.close());

  it('refuses a sign-in with 503 rather than skip the throttle, and signs no one in', async () => {
    const email = uniqueEmail('redis-down');
    const logins = async (): Promise<number> =>
      Number((await server.deps.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM resource WHERE resource_type = 'Login' AND content->'user'->>'display' = $1`, [email])).rows[0]?.n);
    const before = await logins();
    const res = await login(server, email, PASSWORD, { from: freshAddress() });
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.equal(res.body.issue[0].code, 'transient');
    assert.equal(await logins(), before);
  });

  it('answers /healthz with 503 and redis: unreachable', async () => {
    const res = await fetch(`${server.baseUrl}healthz`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { ok: boolean; redis: string };
    assert.equal(body.ok, false);
    assert.equal(body.redis, 'unreachable');
  });
});

describe('Redis configuration', () => {
  it('accepts redis:// and rediss:// URLs and a key prefix, and names REDIS_URL when it is not one', () => {
    assert.equal(loadConfig({ REDIS_URL: 'rediss://user:secret@cache.example:6380/2' }).redisUrl, 'rediss://user:secret@cache.example:6380/2');
    assert.equal(loadConfig({}).redisKeyPrefix, 'tessera:');
    assert.equal(loadConfig({}).redisUrl, undefined);
    for (const bad of ['http://cache.example:6379', 'redis://', 'localhost:6379']) {
      assert.throws(() => loadConfig({ REDIS_URL: bad }), (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('REDIS_URL:')));
    }
    assert.throws(() => loadConfig({ REDIS_KEY_PREFIX: 'a b*' }), (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('REDIS_KEY_PREFIX:')));
  });

  it('reports redis: ok on /healthz when Redis answers', { skip: redisSettings ? false : 'no TEST_REDIS_URL' }, async () => {
    const server = await startTestServer({ redis: redisSettings ?? false });
    try {
      const res = await fetch(`${server.baseUrl}healthz`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { redis: string }).redis, 'ok');
    } finally {
      await server.close();
    }
  });
});
