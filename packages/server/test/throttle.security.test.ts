/**
 * Sign-in throttling (ASVS V6.3.1): 429 with Retry-After after 20 failures on one email,
 * known or not, with the same answers either way; longer waits after each lock; a success
 * clears the account's count; a limit per client address across emails; parallel guesses
 * cannot pass the limit; set-password links are throttled too; the state is shared by every
 * instance. Failed attempts come from addresses of the test's own (auth-client.ts), never from
 * the 127.0.0.1 the rest of the suite uses.
 *
 * The same tests run on both stores: the database's (`npm test`) and Redis (`npm run test:pg`,
 * where the harness gives every server TEST_REDIS_URL); throttle-redis.test.ts checks that the
 * counts are then really in Redis. The cleanup test is the database store's own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSecurityRequest } from '../src/auth/security-requests.js';
import { LoginThrottle } from '../src/auth/throttle.js';
import { hashSecret } from '../src/auth/secrets.js';
import { argon2Hasher } from '../src/auth/passwords.js';
import { createAccount, freshAddress, login, post, uniqueEmail, PASSWORD, type JsonResponse } from './auth-client.js';
import { createMember } from './factories.js';
import { FakeClock, startTestServer, type TestServer } from './harness.js';

const WRONG = 'not the right passphrase';

/** `count` wrong passwords for `email`, spread over several addresses so only the account's limit is reached. */
async function fail(server: TestServer, email: string, count: number): Promise<JsonResponse[]> {
  const addresses = [freshAddress(), freshAddress(), freshAddress(), freshAddress()];
  const results: JsonResponse[] = [];
  for (let i = 0; i < count; i++) results.push(await login(server, email, WRONG, { from: addresses[i % addresses.length] as string }));
  return results;
}

function assertThrottled(res: JsonResponse, retryAfter?: number): void {
  assert.equal(res.status, 429, JSON.stringify(res.body));
  assert.equal(res.body.resourceType, 'OperationOutcome');
  assert.equal(res.body.issue[0].code, 'throttled');
  const header = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(header) && header > 0, `Retry-After: ${String(res.headers['retry-after'])}`);
  if (retryAfter !== undefined) assert.equal(header, retryAfter);
}

describe('sign-in throttling', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('answers the 21st attempt with 429 and Retry-After, for a known and an unknown email alike', async () => {
    const known = (await createAccount(server)).email;
    const unknown = uniqueEmail('nobody');
    const knownResults = await fail(server, known, 20);
    const unknownResults = await fail(server, unknown, 20);
    for (const res of [...knownResults, ...unknownResults]) {
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, knownResults[0]?.body);
    }
    const lockedKnown = await login(server, known, WRONG, { from: freshAddress() });
    const lockedUnknown = await login(server, unknown, WRONG, { from: freshAddress() });
    assertThrottled(lockedKnown, 60);
    assertThrottled(lockedUnknown, 60);
    assert.deepEqual(lockedKnown.body, lockedUnknown.body);
    // While locked, even the right password is refused: the lock says nothing about it.
    assertThrottled(await login(server, known, PASSWORD, { from: freshAddress() }));
  });

  it('waits longer after each lock, and a successful sign-in clears the count', async () => {
    const { email } = await createAccount(server);
    await fail(server, email, 20);
    assertThrottled(await login(server, email, WRONG, { from: freshAddress() }), 60);
    server.clock.advance(61 * 1000);
    // The lock is over but the count is not: one more failure locks again, twice as long.
    assert.equal((await login(server, email, WRONG, { from: freshAddress() })).status, 400);
    assertThrottled(await login(server, email, WRONG, { from: freshAddress() }), 120);
    server.clock.advance(121 * 1000);
    assert.equal((await login(server, email, WRONG, { from: freshAddress() })).status, 400);
    assertThrottled(await login(server, email, PASSWORD, { from: freshAddress() }), 240);
    server.clock.advance(241 * 1000);
    assert.equal((await login(server, email, PASSWORD, { from: freshAddress() })).status, 200);
    // Counting starts again from zero.
    const after = await fail(server, email, 19);
    assert.deepEqual(after.map((r) => r.status), Array(19).fill(400));
  });

  it('lets no more than 20 parallel guesses through', async () => {
    const email = uniqueEmail('burst');
    const results = await Promise.all(Array.from({ length: 26 }, () => login(server, email, WRONG, { from: freshAddress() })));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 400).length, 20, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 6, statuses.join(','));
  });

  it('checks a full argon2id hash when it refuses a locked account, as when it checks a wrong password', async () => {
    // Timing is not asserted (the machine's load decides it); what makes the times alike is: a
    // refusal runs the same argon2id verification as a check. The hasher is the real one, counted.
    const verifications: Array<'stored' | 'dummy'> = [];
    const counted = await startTestServer({
      hasher: {
        hash: (password) => argon2Hasher.hash(password),
        verify: async (stored, password) => {
          verifications.push(stored === undefined ? 'dummy' : 'stored');
          return argon2Hasher.verify(stored, password);
        },
      },
    });
    try {
      const { email } = await createAccount(counted);
      await fail(counted, email, 20);
      assert.deepEqual(verifications.slice(-20), Array(20).fill('stored'));
      verifications.length = 0;
      for (let i = 0; i < 7; i++) assertThrottled(await login(counted, email, WRONG, { from: freshAddress() }));
      assert.deepEqual(verifications, Array(7).fill('dummy'), 'each refusal checks one full hash');
    } finally {
      await counted.close();
    }
  });

  it('throttles set-password attempts per link', async () => {
    const member = await createMember(server);
    const { request, url } = await createSecurityRequest({ ...server.deps, baseUrl: server.baseUrl }, { userId: member.userId, type: 'reset', lifetimeSeconds: 3600 });
    const secret = url.split('/').pop() as string;
    for (let i = 0; i < 20; i++) {
      const res = await post(server, 'auth/setpassword', { id: request.id, secret: `wrong-${i}`, password: 'a new long passphrase' }, { from: freshAddress() });
      assert.equal(res.status, 400);
    }
    const locked = await post(server, 'auth/setpassword', { id: request.id, secret, password: 'a new long passphrase' }, { from: freshAddress() });
    assertThrottled(locked, 60);
    server.clock.advance(61 * 1000);
    assert.equal((await post(server, 'auth/setpassword', { id: request.id, secret, password: 'a new long passphrase' }, { from: freshAddress() })).status, 200);
  });

  it('shares counts and locks between server instances on one database', async () => {
    const second = await startTestServer({ db: server.deps.db });
    try {
      const email = uniqueEmail('shared');
      await fail(server, email, 20);
      assertThrottled(await login(second, email, WRONG, { from: freshAddress() }));
    } finally {
      await second.app.close();
    }
  });

  it('deletes rows that have been quiet for a whole window and hold no lock', async () => {
    // The database store explicitly (a throttle without a store of its own uses the table); Redis keys expire instead.
    const past = new FakeClock(server.clock.now().getTime() - 2 * 3600 * 1000);
    const old = new LoginThrottle({ db: server.deps.db, clock: past });
    const stale = uniqueEmail('stale');
    await old.begin([old.accountKey(stale)]);
    const fresh = uniqueEmail('fresh');
    const current = new LoginThrottle({ db: server.deps.db, clock: server.clock });
    await current.begin([current.accountKey(fresh)]);
    const exists = async (email: string): Promise<boolean> =>
      (await server.deps.db.query('SELECT 1 FROM auth_throttle WHERE kind = $1 AND key_hash = $2', ['account', hashSecret(`account:${email}`)])).rowCount === 1;
    assert.equal(await exists(stale), true);
    await current.cleanup();
    assert.equal(await exists(stale), false);
    assert.equal(await exists(fresh), true);
  });
});

describe('throttling per client address', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ env: { AUTH_IP_MAX_FAILURES: '5' } });
  });
  after(() => server.close());

  it('locks an address after its limit of failures across different emails; successes do not count', async () => {
    const { email } = await createAccount(server);
    const from = freshAddress();
    for (let i = 0; i < 4; i++) assert.equal((await login(server, uniqueEmail('spray'), WRONG, { from })).status, 400);
    for (let i = 0; i < 3; i++) assert.equal((await login(server, email, PASSWORD, { from })).status, 200);
    assert.equal((await login(server, uniqueEmail('spray'), WRONG, { from })).status, 400);
    const target = uniqueEmail('spray');
    assertThrottled(await login(server, target, WRONG, { from }), 60);
    assertThrottled(await login(server, email, PASSWORD, { from }));
    // The same email from another address is not locked: only the address is.
    assert.equal((await login(server, target, WRONG, { from: freshAddress() })).status, 400);
  });
});
