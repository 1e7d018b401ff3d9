/**
 * Sign-in as Medplum's `/auth/*` does it: a password check creates a Login; a Login with one
 * chosen membership gets a one-time authorization code; `/oauth2/token` exchanges the code
 * (with the PKCE verifier) for tokens. The Login resource records each step, and only hashes
 * of the code and of the refresh secret are stored.
 * Not here: the HTTP shapes (auth-routes.ts), the token grants (src/oauth), throttling.
 */
import type { Login, ProjectMembership, Reference, User } from '@medplum/fhirtypes';
import type { Database } from '../db/database.js';
import type { Clock, Random } from '../deps.js';
import { badRequest } from '../fhir/outcomes.js';
import type { ResourceStore } from '../fhir/resource-store.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import type { PasswordHasher } from './passwords.js';
import { hashSecret, newSecret } from './secrets.js';

export interface LoginFlowDeps {
  db: Database;
  store: ResourceStore;
  clock: Clock;
  random: Random;
  hasher: PasswordHasher;
}

export type StoredLogin = Login & { id: string };

/** How long an unfinished sign-in (password checked, no code exchanged yet) stays usable. */
export const LOGIN_PENDING_SECONDS = 3600;
/** How long an authorization code is valid (RFC 6749 section 4.1.2: 10 minutes at most). */
export const CODE_LIFETIME_SECONDS = 600;

export interface StartLoginInput {
  email: string;
  password: string;
  projectId?: string;
  clientId?: string;
  scope?: string;
  nonce?: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  remoteAddress?: string;
  userAgent?: string;
}

export interface MembershipChoice {
  id: string;
  project: Reference;
  profile: Reference;
}

export interface LoginResult {
  login: string;
  code?: string;
  memberships?: MembershipChoice[];
}

const serverScope = systemScope(SYSTEM_PROJECT_ID);
const INVALID_CREDENTIALS = 'Email or password is invalid';

/** Finds the account: a project-scoped User when a project is named and has one, else the server-wide one. */
export async function findUserByEmail(deps: LoginFlowDeps, email: string, projectId?: string): Promise<(User & { id: string }) | undefined> {
  if (projectId) {
    const [scoped] = await deps.store.findUsersByEmail(systemScope(projectId), email);
    if (scoped) return scoped.resource as User & { id: string };
  }
  const [user] = await deps.store.findUsersByEmail(serverScope, email);
  return user?.resource as (User & { id: string }) | undefined;
}

/** The user's active memberships, in the given project only when one is named. */
export async function activeMemberships(deps: LoginFlowDeps, userId: string, projectId?: string): Promise<Array<ProjectMembership & { id: string; projectId: string }>> {
  const rows = await deps.store.findMembershipsOfUser(serverScope, `User/${userId}`);
  return rows
    .filter((r) => (r.resource as ProjectMembership).active !== false && (!projectId || r.projectId === projectId))
    .map((r) => ({ ...(r.resource as ProjectMembership & { id: string }), projectId: r.projectId }));
}

/** Checks email and password; the answer and its timing are the same for an unknown email. */
export async function authenticatePassword(deps: LoginFlowDeps, email: string, password: string, projectId?: string): Promise<User & { id: string }> {
  const user = await findUserByEmail(deps, email, projectId);
  const ok = await deps.hasher.verify(user?.passwordHash, password);
  if (!user || !ok) {
    throw badRequest(INVALID_CREDENTIALS);
  }
  return user;
}

export async function startLogin(deps: LoginFlowDeps, input: StartLoginInput): Promise<LoginResult> {
  const user = await authenticatePassword(deps, input.email, input.password, input.projectId);
  const memberships = await activeMemberships(deps, user.id, input.projectId);
  if (memberships.length === 0) {
    throw badRequest('This account has no active membership', input.projectId ? 'projectId' : undefined);
  }
  const login = await createLogin(deps, user, 'password', input);
  if (memberships.length === 1) {
    return chooseMembership(deps, login.id, (memberships[0] as { id: string }).id);
  }
  return {
    login: login.id,
    memberships: memberships.map((m) => ({ id: m.id, project: m.project, profile: m.profile })),
  };
}

export async function createLogin(
  deps: LoginFlowDeps,
  user: User & { id: string },
  authMethod: Login['authMethod'],
  input: Omit<StartLoginInput, 'email' | 'password' | 'projectId'>,
): Promise<StoredLogin> {
  return new SystemRepository(deps).create<Login>(serverScope, {
    resourceType: 'Login',
    user: { reference: `User/${user.id}`, display: user.email },
    authMethod,
    authTime: deps.clock.now().toISOString(),
    scope: input.scope ?? 'openid',
    nonce: input.nonce ?? deps.random.uuid(),
    ...(input.clientId ? { client: { reference: `ClientApplication/${input.clientId}` } } : {}),
    ...(input.codeChallenge ? { codeChallenge: input.codeChallenge, codeChallengeMethod: input.codeChallengeMethod as Login['codeChallengeMethod'] } : {}),
    ...(input.remoteAddress ? { remoteAddress: input.remoteAddress } : {}),
    ...(input.userAgent ? { userAgent: input.userAgent.slice(0, 512) } : {}),
    granted: false,
  });
}

/** Reads a sign-in still in progress, or answers 400 naming the `login` field. */
export async function readPendingLogin(deps: LoginFlowDeps, loginId: string): Promise<StoredLogin> {
  const login = /^[0-9a-f-]{36}$/i.test(loginId) ? await new SystemRepository(deps).read<Login>(serverScope, 'Login', loginId) : undefined;
  if (!login) throw badRequest('Login not found', 'login');
  if (login.revoked) throw badRequest('Login revoked', 'login');
  if (login.granted) throw badRequest('Login already granted', 'login');
  const age = (deps.clock.now().getTime() - Date.parse(login.authTime)) / 1000;
  if (age > LOGIN_PENDING_SECONDS) throw badRequest('Login expired; sign in again', 'login');
  return login;
}

/** Sets the login's membership (which must be the user's own and active) and issues a code. */
export async function chooseMembership(deps: LoginFlowDeps, loginId: string, membershipId: string): Promise<LoginResult> {
  const login = await readPendingLogin(deps, loginId);
  if (login.membership) throw badRequest('Login profile already set', 'login');
  const userId = login.user?.reference?.replace(/^User\//, '') ?? '';
  const membership = (await activeMemberships(deps, userId)).find((m) => m.id === membershipId);
  if (!membership) throw badRequest('Profile not found', 'profile');
  return issueCode(deps, login, membership.projectId, membership.id);
}

/** Attaches a membership to a pending login and returns a fresh one-time code (`<loginId>.<secret>`). */
export async function issueCode(deps: LoginFlowDeps, login: StoredLogin, projectId: string, membershipId: string): Promise<LoginResult> {
  const secret = newSecret();
  await new SystemRepository(deps).update<Login>(serverScope, {
    ...login,
    project: { reference: `Project/${projectId}` },
    membership: { reference: `ProjectMembership/${membershipId}` },
    code: hashSecret(secret),
  });
  return { login: login.id, code: `${login.id}.${secret}` };
}

/** Splits a code into its login id and secret, or undefined when it is not one of ours. */
export function parseCode(code: string): { loginId: string; secret: string } | undefined {
  const match = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/i.exec(code);
  return match ? { loginId: match[1] as string, secret: match[2] as string } : undefined;
}
