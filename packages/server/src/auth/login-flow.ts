/**
 * Sign-in as Medplum's `/auth/*` does it: a password check creates a Login; a Login with one
 * chosen membership gets a one-time authorization code; `/oauth2/token` exchanges the code
 * (with the PKCE verifier) for tokens. The Login resource records each step, and only hashes
 * of the code and of the refresh secret are stored.
 * Every password check is throttled per email and per client address (throttle.ts). A user
 * enrolled in MFA gets `{login, mfaRequired: true}` and no code until `/auth/mfa/verify` (mfa.ts)
 * marks the Login verified: `issueCode` refuses a Login whose `mfaVerified` is false.
 * `issueCode` is the one place a Login gets its membership, so the membership's IP access rules
 * are checked there, for every path that reaches it (ip-rules.ts `signInIpAllowed`); a refusal is
 * recorded in the audit log.
 * Not here: the HTTP shapes (auth-routes.ts), the token grants (src/oauth), the throttle's rules.
 */
import type { Login, ProjectMembership, Reference, User } from '@medplum/fhirtypes';
import { recordFailedSignIn, recordRefusedSignIn } from '../audit/sign-in-audit.js';
import type { Database, Queryable } from '../db/database.js';
import type { Clock, Random } from '../deps.js';
import { IP_NOT_ALLOWED, signInIpAllowed } from '../fhir/access-policy/ip-rules.js';
import { badRequest, forbidden } from '../fhir/outcomes.js';
import type { ResourceStore } from '../fhir/resource-store.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { referenceId } from './authenticate.js';
import type { PasswordHasher } from './passwords.js';
import type { RequestContext } from './request-context.js';
import { hashSecret, newSecret } from './secrets.js';
import { LoginThrottle, ThrottledError } from './throttle.js';

export interface LoginFlowDeps {
  db: Database;
  store: ResourceStore;
  clock: Clock;
  random: Random;
  hasher: PasswordHasher;
  /** The throttle built from the config (app.ts); without one, a default-settings throttle on `db`. */
  throttle?: LoginThrottle;
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

/**
 * Where a sign-in step comes from: a password check throttles the client address as well as the
 * email, and the step that sets the membership checks it against the IP access rules.
 */
export interface PasswordCheckContext {
  remoteAddress?: string;
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
  /** The user must send a TOTP code to `/auth/mfa/verify` before anything else. */
  mfaRequired?: boolean;
}

export type StoredUser = User & { id: string };

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

const defaultThrottles = new WeakMap<Database, LoginThrottle>();

export function throttleOf(deps: Pick<LoginFlowDeps, 'db' | 'clock' | 'throttle'>): LoginThrottle {
  if (deps.throttle) return deps.throttle;
  let throttle = defaultThrottles.get(deps.db);
  if (!throttle) {
    throttle = new LoginThrottle(deps);
    defaultThrottles.set(deps.db, throttle);
  }
  return throttle;
}

/**
 * Checks email and password, throttled per email and per address. An unknown email, a wrong
 * password and a locked key take about the same time (a dummy hash is checked when there is no
 * account, and when the attempt is refused), and an unknown email is counted and locked like a
 * known one, so neither the answer nor its timing says whether the account exists.
 */
export async function authenticatePassword(
  deps: LoginFlowDeps,
  email: string,
  password: string,
  projectId?: string,
  context: PasswordCheckContext = {},
): Promise<StoredUser> {
  const throttle = throttleOf(deps);
  let attempt;
  try {
    attempt = await throttle.begin(throttle.passwordKeys(email, context.remoteAddress));
  } catch (err) {
    if (err instanceof ThrottledError) await deps.hasher.verify(undefined, password);
    throw err;
  }
  const user = await findUserByEmail(deps, email, projectId);
  const ok = await deps.hasher.verify(user?.passwordHash, password);
  if (!user || !ok) {
    // Written after the answer, so a real account's failure is not slower than an unknown one's.
    if (user) recordFailedSignIn(deps, user, context.remoteAddress);
    throw badRequest(INVALID_CREDENTIALS);
  }
  await attempt.succeeded();
  return user;
}

export async function startLogin(deps: LoginFlowDeps, input: StartLoginInput): Promise<LoginResult> {
  const user = await authenticatePassword(deps, input.email, input.password, input.projectId, input);
  const memberships = await activeMemberships(deps, user.id, input.projectId);
  if (memberships.length === 0) {
    throw badRequest('This account has no active membership', input.projectId ? 'projectId' : undefined);
  }
  const login = await createLogin(deps, user, 'password', input);
  return continueLogin(deps, login, input);
}

/**
 * The next step of a sign-in whose password (and TOTP code, if enrolled) is checked: MFA first,
 * then a code for the only membership, or the choice of memberships, or (`projectId: 'new'`, or
 * no membership yet) just the login, for `/auth/newproject`.
 */
export async function continueLogin(deps: LoginFlowDeps, login: StoredLogin, context: PasswordCheckContext = {}): Promise<LoginResult> {
  if (login.mfaVerified === false) return { login: login.id, mfaRequired: true };
  const projectId = referenceId(login.project, 'Project');
  if (projectId === 'new') return { login: login.id };
  const memberships = await activeMemberships(deps, referenceId(login.user, 'User') ?? '', projectId);
  if (memberships.length === 0) return { login: login.id };
  if (memberships.length === 1) {
    return chooseMembership(deps, login.id, (memberships[0] as { id: string }).id, context);
  }
  return {
    login: login.id,
    memberships: memberships.map((m) => ({ id: m.id, project: m.project, profile: m.profile })),
  };
}

/**
 * Records a sign-in. With `projectId` (a project id, or `new`) the Login remembers it, so the
 * steps after MFA offer only that project. A password sign-in of an MFA-enrolled user starts
 * with `mfaVerified: false`, which blocks every code until `/auth/mfa/verify`.
 */
export async function createLogin(
  deps: LoginFlowDeps,
  user: User & { id: string },
  authMethod: Login['authMethod'],
  input: Omit<StartLoginInput, 'email' | 'password'>,
): Promise<StoredLogin> {
  return new SystemRepository(deps).create<Login>(serverScope, {
    resourceType: 'Login',
    user: { reference: `User/${user.id}`, display: user.email },
    authMethod,
    authTime: deps.clock.now().toISOString(),
    scope: input.scope ?? 'openid',
    ...(input.projectId ? { project: { reference: `Project/${input.projectId}` } } : {}),
    ...(user.mfaEnrolled && authMethod === 'password' ? { mfaVerified: false } : {}),
    // A nonce is the client's (OIDC Core 3.1.2.1): one the client did not send would make it reject the id token.
    ...(input.nonce ? { nonce: input.nonce } : {}),
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
export async function chooseMembership(deps: LoginFlowDeps, loginId: string, membershipId: string, context: PasswordCheckContext = {}): Promise<LoginResult> {
  const login = await readPendingLogin(deps, loginId);
  if (login.membership) throw badRequest('Login profile already set', 'login');
  const userId = login.user?.reference?.replace(/^User\//, '') ?? '';
  const membership = (await activeMemberships(deps, userId)).find((m) => m.id === membershipId);
  if (!membership) throw badRequest('Profile not found', 'profile');
  // A sign-in started for one project continues in that project only.
  const projectId = referenceId(login.project, 'Project');
  if (projectId && projectId !== 'new' && projectId !== membership.projectId) throw badRequest('Profile not found', 'profile');
  return issueCode(deps, login, membership.projectId, membership, context);
}

/** Refuses a sign-in still waiting for its TOTP code (`/auth/mfa/verify`): nothing may be issued or made for it. */
export function assertMfaDone(login: Login): void {
  if (login.mfaVerified === false) throw badRequest('Enter the code from your authenticator app first', 'login');
}

/**
 * Attaches a membership to a pending login and returns a fresh one-time code (`<loginId>.<secret>`).
 * A blocked address, where the sign-in started or where this step comes from, gets 400 and the
 * Login stays without membership or code, so nothing from it can be exchanged; another of the
 * user's memberships may still be chosen (Medplum's `setLoginMembership` checks at this point too).
 */
export async function issueCode(
  deps: LoginFlowDeps,
  login: StoredLogin,
  projectId: string,
  membership: ProjectMembership & { id: string },
  context: PasswordCheckContext = {},
): Promise<LoginResult> {
  assertMfaDone(login);
  if (!(await signInIpAllowed(deps.store, deps.db, projectId, membership, [login.remoteAddress, context.remoteAddress]))) {
    const remoteAddress = context.remoteAddress ?? login.remoteAddress;
    await recordRefusedSignIn(deps, { login, membership, projectId, reason: IP_NOT_ALLOWED, ...(remoteAddress ? { remoteAddress } : {}) });
    throw badRequest(IP_NOT_ALLOWED);
  }
  const secret = newSecret();
  // Under the Login's row lock, so two steps racing on one Login (two profile choices) give one code.
  await deps.db.transaction(async (tx) => {
    const current = await deps.store.lockCurrent(serverScope, tx, 'Login', login.id);
    const stored = current?.resource as StoredLogin | undefined;
    if (!stored || current?.deleted || stored.revoked || stored.granted) throw badRequest('Login not found', 'login');
    if (stored.membership) throw badRequest('Login profile already set', 'login');
    await new SystemRepository(deps).update<Login>(
      serverScope,
      { ...stored, project: { reference: `Project/${projectId}` }, membership: { reference: `ProjectMembership/${membership.id}` }, code: hashSecret(secret) },
      tx,
    );
  });
  return { login: login.id, code: `${login.id}.${secret}` };
}

/** Splits a code into its login id and secret, or undefined when it is not one of ours. */
export function parseCode(code: string): { loginId: string; secret: string } | undefined {
  const match = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/i.exec(code);
  return match ? { loginId: match[1] as string, secret: match[2] as string } : undefined;
}

/** A User by id in whichever project holds it (server-wide Users in the system project), with that project. */
export async function findUserById(deps: Pick<LoginFlowDeps, 'store'>, userId: string): Promise<{ user: StoredUser; projectId: string } | undefined> {
  const found = /^[A-Za-z0-9\-.]{1,64}$/.test(userId) ? await deps.store.locate(serverScope, 'User', userId) : undefined;
  return found && !found.deleted ? { user: found.resource as StoredUser, projectId: found.projectId } : undefined;
}

/** The User behind a request's token; 403 for a token that is not a user's (a client application's). */
export async function findUserOfContext(deps: Pick<LoginFlowDeps, 'store'>, ctx: RequestContext): Promise<{ user: StoredUser; projectId: string }> {
  const userId = referenceId(ctx.login.user, 'User');
  const found = userId ? await findUserById(deps, userId) : undefined;
  if (!found) throw forbidden('Only a signed-in user can do this');
  return found;
}

/**
 * Changes a User under a row lock, so concurrent changes (a password set while MFA is enrolled)
 * do not overwrite each other. Inside the caller's transaction when `tx` is given.
 */
export async function updateUser(
  deps: LoginFlowDeps,
  found: { user: StoredUser; projectId: string },
  change: (user: StoredUser) => StoredUser,
  tx?: Queryable,
): Promise<StoredUser> {
  const run = async (q: Queryable): Promise<StoredUser> => {
    const scope = systemScope(found.projectId);
    const current = await deps.store.lockCurrent(scope, q, 'User', found.user.id);
    if (!current || current.deleted) throw badRequest('User not found');
    return new SystemRepository(deps).update<User>(scope, change(current.resource as StoredUser), q);
  };
  return tx ? run(tx) : deps.db.transaction(run);
}

/**
 * Revokes every Login of a user but `exceptLoginId`: their access and refresh tokens stop
 * working on the next request (authenticate.ts and the refresh grant read the Login), and
 * pending sign-ins cannot get a code. Used after a password is reset or changed (ASVS V7.4.3).
 */
export async function revokeUserLogins(deps: LoginFlowDeps, tx: Queryable, userId: string, exceptLoginId?: string): Promise<number> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT id FROM resource
      WHERE project_id = $1 AND resource_type = 'Login' AND NOT deleted
        AND content->'user'->>'reference' = $2 AND coalesce(content->>'revoked', 'false') <> 'true'`,
    [SYSTEM_PROJECT_ID, `User/${userId}`],
  );
  const system = new SystemRepository(deps);
  let revoked = 0;
  for (const { id } of rows) {
    if (id === exceptLoginId) continue;
    const current = await deps.store.lockCurrent(serverScope, tx, 'Login', id);
    if (!current || current.deleted || (current.resource as Login).revoked) continue;
    await system.update<Login>(serverScope, { ...(current.resource as StoredLogin), revoked: true }, tx);
    revoked++;
  }
  return revoked;
}
