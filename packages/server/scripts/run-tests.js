#!/usr/bin/env node
// Runs the server's test files with Node's test runner (TypeScript through tsx).
//   node scripts/run-tests.js            on embedded PGlite (each test file its own in-memory database)
//   node scripts/run-tests.js --pg       on the PostgreSQL at PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres):
//                                        creates a fresh database for the run and drops it afterwards;
//                                        and with the Redis at TEST_REDIS_URL (default redis://127.0.0.1:6379) for the
//                                        sign-in throttle, under a key prefix of the run's own, deleted afterwards
//   extra arguments are file filters (substrings of the path)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const usePg = args.includes('--pg');
const filters = args.filter((a) => !a.startsWith('--'));

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules') return [];
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = [...findTests(join(root, 'src')), ...findTests(join(root, 'test'))]
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('No test files matched.');
  process.exit(1);
}

const env = { ...process.env };
let dropDatabase = async () => {};
if (usePg) {
  const adminUrl = process.env.PG_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `tessera_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (err) {
    console.error(`Cannot create a test database on PostgreSQL at ${adminUrl}: ${err.message}`);
    console.error('Start PostgreSQL, or point PG_ADMIN_URL at one (a role that may CREATE DATABASE).');
    process.exit(1);
  } finally {
    await admin.end().catch(() => {});
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  env.TEST_DATABASE_URL = url.toString();
  env.PG_ADMIN_URL = adminUrl;
  console.log(`Testing on PostgreSQL database ${name}`);
  dropDatabase = async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
} else {
  delete env.TEST_DATABASE_URL;
  console.log('Testing on embedded PGlite');
}

// Redis (PostgreSQL run only): the test servers count sign-in attempts there (test/harness.ts).
let deleteRedisKeys = async () => {};
if (usePg) {
  const redisUrl = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
  const prefix = `tessera-test-${randomBytes(6).toString('hex')}:`;
  const open = () => new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 5000, retryStrategy: () => null });
  const probe = open();
  let connectError;
  probe.on('error', (err) => (connectError = err));
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    console.error(`Cannot reach Redis at ${redisUrl}: ${(connectError ?? err).message}`);
    console.error('Start Redis, or point TEST_REDIS_URL at one.');
    await dropDatabase().catch(() => {});
    process.exit(1);
  } finally {
    probe.disconnect();
  }
  env.TEST_REDIS_URL = redisUrl;
  env.TEST_REDIS_KEY_PREFIX = prefix;
  console.log(`Testing with Redis at ${redisUrl}, keys under ${prefix}`);
  deleteRedisKeys = async () => {
    const redis = open();
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  };
} else {
  delete env.TEST_REDIS_URL;
  delete env.TEST_REDIS_KEY_PREFIX;
}

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { cwd: root, env, stdio: 'inherit' },
);
await dropDatabase();
await deleteRedisKeys().catch((err) => console.error(`Could not delete the run's Redis keys: ${err.message}`));
process.exit(result.status ?? 1);
