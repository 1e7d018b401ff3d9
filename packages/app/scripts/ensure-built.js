#!/usr/bin/env node
// Builds the web app when dist/ is missing or older than its sources, so `npm start` on a fresh
// clone serves the app without a separate build step (root package.json's `prestart`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const app = fileURLToPath(new URL('..', import.meta.url));
const index = join(app, 'dist', 'index.html');

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

const sources = ['src', 'public', 'index.html', 'vite.config.ts', 'package.json'].map((p) => join(app, p)).filter(existsSync);
const stale = !existsSync(index) || Math.max(...sources.map(newestMtime)) > statSync(index).mtimeMs;
if (!stale) process.exit(0);

console.log('Building the web app (packages/app) ...');
// Only the bundle: type-checking is `npm run build`'s job, and a start should not wait for it.
const vitePackage = createRequire(join(app, 'package.json')).resolve('vite/package.json');
const viteBin = join(dirname(vitePackage), 'bin', 'vite.js');
const result = spawnSync(process.execPath, [viteBin, 'build', '--logLevel', 'warn'], { cwd: app, stdio: 'inherit' });
process.exit(result.status ?? 1);
