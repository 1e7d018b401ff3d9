/**
 * The web app served by the server (src/http/web-app.ts), from a stand-in build in a temporary
 * folder: its files, index.html for a browser opening one of its pages, the API's own answers
 * untouched, no file outside the build, and a hint when there is no build at all.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './harness.js';

const INDEX = '<!doctype html><title>Tessera test build</title><script type="module" src="/assets/app-1234.js"></script>';
const HTML = { accept: 'text/html,application/xhtml+xml' };

describe('web app serving', () => {
  let folder: string;
  let server: TestServer;
  let empty: TestServer;

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'tessera-web-'));
    const dist = join(folder, 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), INDEX);
    writeFileSync(join(dist, 'assets', 'app-1234.js'), 'console.log("app")');
    writeFileSync(join(folder, 'secret.txt'), 'outside the build');
    server = await startTestServer({ webAppDir: dist });
    empty = await startTestServer({ webAppDir: join(folder, 'not-built') });
  });
  after(async () => {
    await server.close();
    await empty.close();
    await rm(folder, { recursive: true, force: true });
  });

  const get = (s: TestServer, path: string, headers: Record<string, string> = {}) => fetch(new URL(path.replace(/^\//, ''), s.baseUrl), { headers });

  it('serves index.html at / and for the pages of the app, with a CSP that allows no inline script', async () => {
    for (const path of ['/', '/signin', '/admin/project', '/admin/members/123', '/setpassword/abc/def', '/Patient/123']) {
      const res = await get(server, path, HTML);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/, path);
      assert.equal(await res.text(), INDEX, path);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'(;|$)/, path);
      assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/, path);
    }
  });

  it('serves the built assets with long caching', async () => {
    const res = await get(server, '/assets/app-1234.js');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(res.headers.get('cache-control') ?? '', /immutable/);
    assert.equal(await res.text(), 'console.log("app")');
  });

  it('leaves the API alone: unknown API paths and non-HTML requests stay 404 OperationOutcomes', async () => {
    for (const [path, headers] of [
      ['/admin/projects/00000000-0000-4000-8000-000000000000/nothing', HTML],
      ['/fhir/R4/Patient/123', HTML],
      ['/signin', { accept: 'application/json' }],
      ['/assets/missing.js', {}],
    ] as const) {
      const res = await get(server, path, headers);
      assert.ok(res.status === 404 || res.status === 401, `${path}: ${res.status}`);
      assert.match(res.headers.get('content-type') ?? '', /json/, path);
    }
    const health = await get(server, '/healthz', HTML);
    assert.equal(((await health.json()) as { ok: boolean }).ok, true);
  });

  it('never serves a file outside the build', async () => {
    for (const path of ['/../secret.txt', '/assets/..%2F..%2Fsecret.txt', '/%2e%2e/secret.txt']) {
      const res = await get(server, path, HTML);
      assert.ok(!(await res.text()).includes('outside the build'), path);
    }
  });

  it('without a build, says how to make one', async () => {
    const res = await get(empty, '/', HTML);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /npm run build -w @tessera\/app/);
  });
});
