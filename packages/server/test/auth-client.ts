/**
 * What the password, throttling and MFA suites share: JSON requests to the server from a chosen
 * loopback address, and accounts made through the public API (register, project, tokens).
 *
 * Every address in 127.0.0.0/8 reaches a server listening on 127.0.0.1 (on Linux), and the
 * server sees the one the request came from. A test that makes failed attempts sends them from
 * an address of its own, so it never locks the 127.0.0.1 every other test signs in from: on
 * PostgreSQL all the suite's servers share one throttle table.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { TestServer } from './harness.js';

export const PASSWORD = 'a long and unusual passphrase';

export interface JsonResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: any;
}

export interface CallOptions {
  /** The loopback address to send from (default 127.0.0.1). */
  from?: string;
  token?: string;
  form?: boolean;
}

/** A loopback address no other test uses. */
export function freshAddress(): string {
  return `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
}

let counter = 0;
export function uniqueEmail(prefix = 'pw'): string {
  return `${prefix}-${process.pid}-${Date.now()}-${++counter}-${randomBytes(3).toString('hex')}@example.com`;
}

export function call(server: TestServer, method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<JsonResponse> {
  const url = new URL(path, server.baseUrl);
  const payload = body === undefined ? undefined : options.form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body);
  const headers: Record<string, string> = {};
  if (payload !== undefined) headers['content-type'] = options.form ? 'application/x-www-form-urlencoded' : 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, ...(options.from ? { localAddress: options.from } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // Leave non-JSON bodies as text.
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export const post = (server: TestServer, path: string, body: unknown, options?: CallOptions): Promise<JsonResponse> => call(server, 'POST', path, body, options);

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface Tokens {
  accessToken: string;
  refreshToken?: string;
}

export async function exchangeCode(server: TestServer, code: string, verifier: string): Promise<Tokens> {
  const res = await post(server, 'oauth2/token', { grant_type: 'authorization_code', code, code_verifier: verifier }, { form: true });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { accessToken: res.body.access_token, ...(res.body.refresh_token ? { refreshToken: res.body.refresh_token } : {}) };
}

export interface Account extends Tokens {
  email: string;
  password: string;
}

/** Registers a user with a project of their own, signed in with `offline_access` (so with a refresh token). */
export async function createAccount(server: TestServer, email = uniqueEmail()): Promise<Account> {
  const { verifier, challenge } = pkce();
  const created = await post(server, 'auth/newuser', {
    firstName: 'Pat',
    lastName: 'Word',
    email,
    password: PASSWORD,
    scope: 'openid offline_access',
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const project = await post(server, 'auth/newproject', { login: created.body.login, projectName: `Project of ${email}` });
  assert.equal(project.status, 200, JSON.stringify(project.body));
  return { email, password: PASSWORD, ...(await exchangeCode(server, project.body.code, verifier)) };
}

/** `/auth/login` with a PKCE challenge; returns the answer and the verifier for the code. */
export async function login(server: TestServer, email: string, password: string, options: CallOptions & { scope?: string } = {}): Promise<JsonResponse & { verifier: string }> {
  const { verifier, challenge } = pkce();
  const res = await post(server, 'auth/login', { email, password, codeChallenge: challenge, codeChallengeMethod: 'S256', ...(options.scope ? { scope: options.scope } : {}) }, options);
  return { ...res, verifier };
}

/** What a protected route answers with this access token (200 while it works, 401 once revoked). */
export async function meStatus(server: TestServer, accessToken: string): Promise<number> {
  return (await call(server, 'GET', 'auth/me', undefined, { token: accessToken })).status;
}

export async function refreshStatus(server: TestServer, refreshToken: string): Promise<number> {
  return (await post(server, 'oauth2/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, { form: true })).status;
}
