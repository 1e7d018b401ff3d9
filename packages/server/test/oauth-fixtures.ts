/**
 * Fixtures for the OAuth suites: a member who can sign in with a password, a ClientApplication
 * registered through FHIR by the project's admin (with its own membership, as `/admin` will
 * make one), a sign-in through a client with its code exchange, and a scripted browser that goes through the sign-in page the way a person does:
 * GET the page, read its form token, POST the form with the cookie, follow to the redirect.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientApplication, Practitioner, Project, ProjectMembership, User } from '@medplum/fhirtypes';
import { SYSTEM_PROJECT_ID, systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { createMember, fhirClient, type MemberOptions, type TestMember } from './factories.js';
import { startTestServer, type TestServer } from './harness.js';

/** A test server serving a stand-in web app build (one index.html in `folder`/dist). */
export interface ServerWithAppBuild {
  server: TestServer;
  folder: string;
  /** Stops the server and removes the folder. */
  close(): Promise<void>;
}

/** A server with a web app build, so a browser's GET of `/oauth2/authorize` is sent on to the app's `/oauth`. */
export async function startServerWithAppBuild(name: string): Promise<ServerWithAppBuild> {
  const folder = await mkdtemp(join(tmpdir(), `tessera-${name}-`));
  await mkdir(join(folder, 'dist'));
  await writeFile(join(folder, 'dist', 'index.html'), '<!doctype html><title>Tessera test build</title>');
  const server = await startTestServer({ webAppDir: join(folder, 'dist') });
  return {
    server,
    folder,
    async close() {
      await server.close();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

export const PASSWORD = 'a long and unusual passphrase';
export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

/** A member (admin of a new project unless told) whose User has PASSWORD. */
export async function memberWithPassword(server: TestServer, options: MemberOptions = {}): Promise<TestMember> {
  const member = await createMember(server, options);
  const system = new SystemRepository(server.deps);
  const scope = systemScope(SYSTEM_PROJECT_ID);
  const user = await system.read<User>(scope, 'User', member.userId);
  assert.ok(user);
  await system.update<User>(scope, { ...user, passwordHash: await server.deps.hasher.hash(PASSWORD) });
  return member;
}

/** Gives the user a membership (as a Practitioner) in a new project of their own: a user with two memberships. */
export async function membershipInNewProject(server: TestServer, userId: string, name: string): Promise<{ projectId: string; membership: ProjectMembership & { id: string } }> {
  const system = new SystemRepository(server.deps);
  const projectId = server.deps.random.uuid();
  const scope = systemScope(projectId);
  await system.create<Project>(scope, { resourceType: 'Project', id: projectId, name, owner: { reference: `User/${userId}` } });
  const profile = await system.create<Practitioner>(scope, { resourceType: 'Practitioner', name: [{ family: name }] });
  const membership = await system.create<ProjectMembership>(scope, {
    resourceType: 'ProjectMembership',
    project: { reference: `Project/${projectId}` },
    user: { reference: `User/${userId}` },
    profile: { reference: `Practitioner/${profile.id}` },
    active: true,
  });
  return { projectId, membership };
}

export type RegisteredClient = ClientApplication & { id: string };

/** A ClientApplication created by the admin through FHIR; a membership too unless `membership: false`. */
export async function registerClient(
  server: TestServer,
  admin: TestMember,
  fields: Partial<ClientApplication> = {},
  options: { membership?: boolean; membershipActive?: boolean } = {},
): Promise<RegisteredClient> {
  const created = await fhirClient(server, admin.token).post<RegisteredClient>('ClientApplication', {
    resourceType: 'ClientApplication',
    name: 'Test App',
    status: 'active',
    redirectUris: [REDIRECT_URI],
    ...fields,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  if (options.membership !== false) {
    await new SystemRepository(server.deps).create<ProjectMembership>(systemScope(admin.projectId), {
      resourceType: 'ProjectMembership',
      project: { reference: `Project/${admin.projectId}` },
      user: { reference: `ClientApplication/${created.body.id}` },
      profile: { reference: `ClientApplication/${created.body.id}` },
      active: options.membershipActive ?? true,
    });
  }
  return created.body;
}

export function confidentialSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The authorize URL for a client, with PKCE S256 and a state unless overridden (undefined removes a parameter). */
export function authorizeUrl(server: TestServer, params: Record<string, string | undefined>): string {
  const url = new URL('oauth2/authorize', server.baseUrl);
  for (const [name, value] of Object.entries({ response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', state: 'st-1', ...params })) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  return url.toString();
}

export interface Page {
  status: number;
  html: string;
  headers: Headers;
  location?: string;
}

/** A small browser: keeps the cookie the server sets, sends Origin on POSTs, follows no redirect. */
export class ScriptedBrowser {
  cookie = '';
  constructor(
    readonly server: TestServer,
    readonly origin: string | undefined = new URL(server.baseUrl).origin,
  ) {}

  private async capture(res: Response): Promise<Page> {
    const set = res.headers.getSetCookie()[0];
    if (set) this.cookie = set.split(';')[0] as string;
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, html: await res.text(), headers: res.headers, ...(location ? { location } : {}) };
  }

  async get(url: string): Promise<Page> {
    return this.capture(await fetch(url, { redirect: 'manual', headers: this.cookie ? { cookie: this.cookie } : {} }));
  }

  async post(form: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
    const res = await fetch(new URL('oauth2/authorize', this.server.baseUrl), {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(this.origin ? { origin: this.origin } : {}),
        ...headers,
      },
      body: new URLSearchParams(form).toString(),
    });
    return this.capture(res);
  }

  /** Opens the authorize URL, signs in, picks `membershipId` if asked (else the first offered); the final page or redirect. */
  async signIn(url: string, email: string, password = PASSWORD, membershipId?: string): Promise<Page> {
    const page = await this.get(url);
    assert.equal(page.status, 200, page.html.slice(0, 500));
    let next = await this.post({ _form: 'sign-in', csrf_token: formToken(page.html), email, password });
    if (next.status === 200 && next.html.includes('name="membership"')) {
      const membership = membershipId ?? membershipChoices(next.html)[0];
      assert.ok(membership);
      next = await this.post({ _form: 'choose', csrf_token: formToken(next.html), membership });
    }
    return next;
  }
}

export function formToken(html: string): string {
  const match = /name="csrf_token" value="([^"]+)"/.exec(html);
  assert.ok(match, `no form token in ${html.slice(0, 300)}`);
  return match[1] as string;
}

export function membershipChoices(html: string): string[] {
  return [...html.matchAll(/name="membership" value="([^"]+)"/g)].map((m) => m[1] as string);
}

/** The query of a redirect the browser was sent to. */
export function redirectParams(page: Page): URLSearchParams {
  assert.ok(page.location, `expected a redirect, got ${page.status}: ${page.html.slice(0, 300)}`);
  return new URL(page.location).searchParams;
}

export interface ClientTokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

/**
 * Signs `email` in through a confidential client as its app would: `/auth/login` with the
 * `clientId`, offline access and a PKCE challenge, then the code exchanged with the client's secret.
 */
export async function signInThroughClient(server: TestServer, email: string, client: { id: string; secret: string }, password = PASSWORD): Promise<ClientTokens> {
  const { verifier, challenge } = pkcePair();
  const res = await fetch(new URL('auth/login', server.baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, clientId: client.id, scope: 'openid offline_access', codeChallenge: challenge, codeChallengeMethod: 'S256' }),
  });
  const login = (await res.json()) as { code?: string };
  assert.equal(res.status, 200, JSON.stringify(login));
  assert.ok(login.code, `no code: ${JSON.stringify(login)}`);
  const tokens = await tokenRequest(server, { grant_type: 'authorization_code', code: login.code, code_verifier: verifier }, basic(client.id, client.secret));
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  return tokens.body as ClientTokens;
}

export async function tokenRequest(server: TestServer, params: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  return formPost(server, 'oauth2/token', params, headers);
}

export async function formPost(server: TestServer, path: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(new URL(path, server.baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

export function basic(id: string, secret: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` };
}
