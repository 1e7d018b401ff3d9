#!/usr/bin/env node
// Runs the end-to-end tests (e2e/*.e2e.ts) with Node's test runner, after building the app
// when needed. With --pg they run on a fresh PostgreSQL database at PG_ADMIN_URL (default
// postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards, as the server's tests do.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const app = fileURLToPath(new URL('..', import.meta.url));
const usePg = process.argv.includes('--pg');

const built = spawnSync(process.execPath, ['scripts/ensure-built.js'], { cwd: app, stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

const env = { ...process.env };
let drop = async () => {};
if (usePg) {
  // The server's PostgreSQL driver (a dependency of @tessera/server).
  const pg = createRequire(new URL('../../server/package.json', import.meta.url))('pg');
  const adminUrl = process.env.PG_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `tessera_e2e_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  env.TEST_DATABASE_URL = url.toString();
  console.log(`End-to-end tests on PostgreSQL database ${name}`);
  drop = async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
} else {
  delete env.TEST_DATABASE_URL;
}

const files = readdirSync(`${app}e2e`)
  .filter((f) => f.endsWith('.e2e.ts'))
  .sort()
  .map((f) => `e2e/${f}`);
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { cwd: app, env, stdio: 'inherit' });
await drop();
process.exit(result.status ?? 1);
