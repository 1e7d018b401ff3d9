/**
 * The access-policy bench's callers, made through Tessera's public API as a project admin would:
 * an AccessPolicy per variant (POST /fhir/R4/AccessPolicy), a Patient member with it
 * (POST /admin/projects/:projectId/invite with `membership.profile` = the Patient, a password and
 * `sendEmail: false`), then that member's sign-in (`/auth/login` with a PKCE challenge, then
 * `/oauth2/token`), so the token is one a real patient app would hold.
 * The variants (issue 6):
 *   criteria     entries `Patient?_id=%patient.id` and `Observation?subject=%patient`
 *   compartment  `compartment: %patient`, entries Patient and Observation without criteria
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AccessPolicy, ProjectMembership } from '@medplum/fhirtypes';

export type PolicyVariant = 'criteria' | 'compartment';
export const POLICY_VARIANTS: PolicyVariant[] = ['criteria', 'compartment'];

export interface PatientMember {
  variant: PolicyVariant;
  policyId: string;
  membershipId: string;
  email: string;
  accessToken: string;
}

const REQUEST_TIMEOUT_MS = 30_000;

export function policyFor(variant: PolicyVariant): AccessPolicy {
  if (variant === 'criteria') {
    return {
      resourceType: 'AccessPolicy',
      name: 'Bench patient (criteria)',
      resource: [
        { resourceType: 'Patient', criteria: 'Patient?_id=%patient.id' },
        { resourceType: 'Observation', criteria: 'Observation?subject=%patient' },
      ],
    };
  }
  return {
    resourceType: 'AccessPolicy',
    name: 'Bench patient (compartment)',
    compartment: { reference: '%patient' },
    resource: [{ resourceType: 'Patient' }, { resourceType: 'Observation' }],
  };
}

async function send<T>(origin: string, path: string, init: RequestInit, what: string): Promise<T> {
  const response = await fetch(`${origin}${path}`, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await response.text();
  if (response.status < 200 || response.status > 299) {
    throw new Error(`${what} answered ${response.status}: ${text.slice(0, 500)}`);
  }
  return JSON.parse(text) as T;
}

const json = (token: string | undefined, body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});

function pkceChallenge(): { verifier: string; challenge: { codeChallenge: string; codeChallengeMethod: 'S256' } } {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: { codeChallenge: createHash('sha256').update(verifier).digest('base64url'), codeChallengeMethod: 'S256' } };
}

async function exchangeCode(origin: string, code: string, verifier: string, who: string): Promise<string> {
  const tokens = await send<{ access_token?: string }>(
    origin,
    '/oauth2/token',
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier }).toString(),
    },
    `The token request for ${who}`,
  );
  if (!tokens.access_token) throw new Error(`The token request for ${who} gave no access_token`);
  return tokens.access_token;
}

/**
 * Signs in with a password as a browser app would: `/auth/login` with PKCE, then the code for
 * tokens. An invited Patient's User is scoped to the project (as in Medplum), so the login names it.
 */
export async function signIn(origin: string, email: string, password: string, projectId?: string): Promise<string> {
  const { verifier, challenge } = pkceChallenge();
  const login = await send<{ code?: string }>(origin, '/auth/login', json(undefined, { email, password, ...(projectId ? { projectId } : {}), ...challenge }), `Signing in as ${email}`);
  if (!login.code) throw new Error(`Signing in as ${email} gave no code (one membership expected): ${JSON.stringify(login).slice(0, 300)}`);
  return exchangeCode(origin, login.code, verifier, email);
}

export interface ProjectOwner {
  email: string;
  password: string;
  projectId: string;
  accessToken: string;
}

/**
 * A new account with a project of its own (`/auth/newuser`, `/auth/newproject`), whose admin it
 * is. Not the server's first-run admin: every member of that one's project is a super admin,
 * whom no access policy narrows, so the patients must live in an ordinary project.
 */
export async function registerProjectOwner(origin: string): Promise<ProjectOwner> {
  const email = `bench-owner-${Date.now().toString(36)}@example.com`;
  const password = randomBytes(24).toString('base64url');
  const { verifier, challenge } = pkceChallenge();
  const user = await send<{ login?: string }>(origin, '/auth/newuser', json(undefined, { firstName: 'Bench', lastName: 'Owner', email, password, ...challenge }), 'Registering the project owner');
  const project = await send<{ code?: string }>(origin, '/auth/newproject', json(undefined, { login: user.login, projectName: 'Access policy bench' }), 'Creating the bench project');
  if (!project.code) throw new Error('Creating the bench project gave no code');
  const accessToken = await exchangeCode(origin, project.code, verifier, email);
  const claims = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { project_id?: string };
  if (!claims.project_id) throw new Error('The project owner\'s token names no project');
  return { email, password, projectId: claims.project_id, accessToken };
}

/** The admin's policy for `variant`, and a Patient member (profile `Patient/<patientId>`) signed in under it. */
export async function createPatientMember(options: { origin: string; adminToken: string; projectId: string; patientId: string; variant: PolicyVariant }): Promise<PatientMember> {
  const { origin, adminToken, projectId, patientId, variant } = options;
  const policy = await send<AccessPolicy & { id: string }>(
    origin,
    '/fhir/R4/AccessPolicy',
    { ...json(adminToken, policyFor(variant)), headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${adminToken}` } },
    `Creating the ${variant} AccessPolicy`,
  );
  const email = `bench-patient-${variant}-${Date.now().toString(36)}@example.com`;
  const password = randomBytes(24).toString('base64url');
  const membership = await send<ProjectMembership & { id: string }>(
    origin,
    `/admin/projects/${projectId}/invite`,
    json(adminToken, {
      resourceType: 'Patient',
      firstName: 'Bench',
      lastName: `Patient ${variant}`,
      email,
      password,
      sendEmail: false,
      membership: { profile: { reference: `Patient/${patientId}` }, accessPolicy: { reference: `AccessPolicy/${policy.id}` } },
    }),
    `Inviting the ${variant} patient member`,
  );
  return { variant, policyId: policy.id, membershipId: membership.id, email, accessToken: await signIn(origin, email, password, projectId) };
}
