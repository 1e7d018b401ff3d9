/**
 * Factories: each test makes the project and members it needs through the server's own
 * services, then talks to the server over HTTP like a client would.
 */
import type { Practitioner, Project, ProjectMembership, User } from '@medplum/fhirtypes';
import { issueTokenForEmail } from '../src/auth/issue-token.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import type { TestServer } from './harness.js';

export interface TestMember {
  projectId: string;
  userId: string;
  membershipId: string;
  profile: string;
  email: string;
  token: string;
  loginId: string;
}

export interface MemberOptions {
  admin?: boolean;
  superAdmin?: boolean;
  /** Join an existing project instead of creating one. */
  projectId?: string;
}

let counter = 0;

/** A new project with one member (an admin by default, as a project's owner is). */
export async function createMember(server: TestServer, options: MemberOptions = {}): Promise<TestMember> {
  const { deps } = server;
  const system = new SystemRepository(deps);
  const email = `member-${process.pid}-${Date.now()}-${++counter}-${deps.random.uuid().slice(0, 8)}@example.com`;
  const user = await system.create<User>(systemScope(SYSTEM_PROJECT_ID), { resourceType: 'User', firstName: 'Test', lastName: `Member ${counter}`, email });
  const projectId = options.projectId ?? deps.random.uuid();
  const scope = systemScope(projectId);
  if (!options.projectId) {
    await system.create<Project>(scope, {
      resourceType: 'Project',
      id: projectId,
      name: `Test project ${counter}`,
      owner: { reference: `User/${user.id}` },
      ...(options.superAdmin ? { superAdmin: true } : {}),
    });
  }
  const profile = await system.create<Practitioner>(scope, { resourceType: 'Practitioner', name: [{ given: ['Test'], family: `Member ${counter}` }] });
  const membership = await system.create<ProjectMembership>(scope, {
    resourceType: 'ProjectMembership',
    project: { reference: `Project/${projectId}` },
    user: { reference: `User/${user.id}` },
    profile: { reference: `Practitioner/${profile.id}` },
    admin: options.admin ?? true,
    active: true,
  });
  const issued = await issueTokenForEmail({ ...deps, issuer: deps.config.baseUrl, lifetimeSeconds: 3600 }, email, projectId);
  return { projectId, userId: user.id, membershipId: membership.id, profile: `Practitioner/${profile.id}`, email, token: issued.accessToken, loginId: issued.loginId };
}

export interface Response<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small FHIR client over fetch: JSON in and out, the member's token on every call. */
export function fhirClient(server: TestServer, token?: string) {
  async function request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response<T>> {
    const init: RequestInit = { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/fhir+json';
    }
    const res = await fetch(new URL(path, server.fhirUrl), init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Leave non-JSON bodies as text.
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }
  return {
    request,
    get: <T = any>(path: string, headers?: Record<string, string>) => request<T>('GET', path, undefined, headers),
    post: <T = any>(path: string, body: unknown, headers?: Record<string, string>) => request<T>('POST', path, body, headers),
    put: <T = any>(path: string, body: unknown, headers?: Record<string, string>) => request<T>('PUT', path, body, headers),
    patch: <T = any>(path: string, body: unknown, headers?: Record<string, string>) =>
      request<T>('PATCH', path, body, { 'content-type': 'application/json-patch+json', ...headers }),
    delete: <T = any>(path: string, headers?: Record<string, string>) => request<T>('DELETE', path, undefined, headers),
  };
}

export type FhirClient = ReturnType<typeof fhirClient>;

/** Rows of the resource and history tables for a project: what "writes nothing" is checked with. */
export async function countRows(server: TestServer, projectId: string): Promise<{ resources: number; history: number }> {
  const { rows } = await server.deps.db.query<{ r: string; h: string }>(
    `SELECT (SELECT count(*) FROM resource WHERE project_id = $1)::text AS r, (SELECT count(*) FROM resource_history WHERE project_id = $1)::text AS h`,
    [projectId],
  );
  return { resources: Number(rows[0]?.r), history: Number(rows[0]?.h) };
}
