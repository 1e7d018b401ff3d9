/**
 * Set-password links (`<BASE_URL>setpassword/<id>/<secret>`, Medplum's shape): a
 * `UserSecurityRequest` of type `reset` (forgotten password) or `invite` (a new member), whose
 * secret is 256 random bits stored only as a SHA-256 hash (ASVS V6.4.1, V7.2.3), usable once,
 * until an expiry kept in an extension (the Medplum type has no field for it, and Medplum's
 * links never expire). Using one sets the password and `emailVerified`, retires the user's other
 * open links, and revokes every Login of the user, so no token of whoever knew the old password
 * survives a reset (V7.4.3).
 *
 * Not here: the HTTP shapes (password-routes.ts), the invite itself (admin), verify-email.
 */
import type { Extension, UserSecurityRequest } from '@medplum/fhirtypes';
import type { Queryable } from '../db/database.js';
import type { Mailer } from '../email/mailer.js';
import { badRequest } from '../fhir/outcomes.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { findUserByEmail, findUserById, revokeUserLogins, throttleOf, updateUser, type LoginFlowDeps, type PasswordCheckContext } from './login-flow.js';
import { passwordProblem } from './password-policy.js';
import { hashSecret, newSecret, secretMatches } from './secrets.js';
import { ThrottledError, type ThrottleKey } from './throttle.js';

/** Where a request's expiry is kept: `valueInstant`. */
export const EXPIRES_EXTENSION_URL = 'https://tessera.dev/fhir/StructureDefinition/security-request-expires';

export const DEFAULT_RESET_LIFETIME_SECONDS = 3600;
export const DEFAULT_INVITE_LIFETIME_SECONDS = 7 * 24 * 3600;

export type SecurityRequestDeps = Pick<LoginFlowDeps, 'db' | 'store' | 'clock' | 'random'> & {
  /** The server's public URL, ending with a slash: links start with it. */
  baseUrl: string;
};

export interface CreatedSecurityRequest {
  request: UserSecurityRequest & { id: string };
  /** `<baseUrl>setpassword/<id>/<secret>`: the only place the secret ever appears. */
  url: string;
  expiresAt: Date;
}

export interface SecurityRequestInput {
  userId: string;
  type: 'invite' | 'reset' | 'verify-email';
  lifetimeSeconds: number;
  redirectUri?: string;
}

const serverScope = systemScope(SYSTEM_PROJECT_ID);

/** Creates a request and its link; inside the caller's transaction when `tx` is given (send the mail after it commits). */
export async function createSecurityRequest(deps: SecurityRequestDeps, input: SecurityRequestInput, tx?: Queryable): Promise<CreatedSecurityRequest> {
  const secret = newSecret();
  const expiresAt = new Date(deps.clock.now().getTime() + input.lifetimeSeconds * 1000);
  const request = await new SystemRepository(deps).create<UserSecurityRequest>(
    serverScope,
    {
      resourceType: 'UserSecurityRequest',
      extension: [{ url: EXPIRES_EXTENSION_URL, valueInstant: expiresAt.toISOString() }],
      type: input.type,
      user: { reference: `User/${input.userId}` },
      secret: hashSecret(secret),
      used: false,
      ...(input.redirectUri ? { redirectUri: input.redirectUri } : {}),
    },
    tx,
  );
  return { request, url: `${deps.baseUrl}setpassword/${request.id}/${secret}`, expiresAt };
}

/**
 * For the invite (admin): a link with which the invited user sets a first password, valid
 * 7 days unless `lifetimeSeconds` (the config's `inviteLinkLifetimeSeconds`) says otherwise.
 */
export function createInviteRequest(
  deps: SecurityRequestDeps,
  userId: string,
  options: { lifetimeSeconds?: number; redirectUri?: string } = {},
  tx?: Queryable,
): Promise<CreatedSecurityRequest> {
  return createSecurityRequest(
    deps,
    { userId, type: 'invite', lifetimeSeconds: options.lifetimeSeconds ?? DEFAULT_INVITE_LIFETIME_SECONDS, ...(options.redirectUri ? { redirectUri: options.redirectUri } : {}) },
    tx,
  );
}

export function expiryOf(request: UserSecurityRequest): Date | undefined {
  const value = request.extension?.find((e: Extension) => e.url === EXPIRES_EXTENSION_URL)?.valueInstant;
  return value ? new Date(value) : undefined;
}

export interface ResetInput {
  email: string;
  projectId?: string;
  sendEmail?: boolean;
}

/**
 * `POST /auth/resetpassword`'s work, which the route runs after answering, so the answer and
 * its time are the same whether or not the account exists. The account is the one that signs
 * in with this email (and projectId). At most `resetMailsPerWindow` mails per address per
 * window, against mail bombing; beyond that nothing is sent.
 */
export async function requestPasswordReset(
  deps: LoginFlowDeps & SecurityRequestDeps & { mailer: Mailer },
  input: ResetInput,
  lifetimeSeconds: number,
): Promise<void> {
  const user = await findUserByEmail(deps, input.email, input.projectId);
  if (!user?.email) return;
  const throttle = throttleOf(deps);
  try {
    await throttle.begin([{ kind: 'reset-mail', value: user.email.toLowerCase(), limit: throttle.settings.resetMailsPerWindow, onSuccess: 'undo' }]);
  } catch (err) {
    if (err instanceof ThrottledError) return;
    throw err;
  }
  const { url, expiresAt } = await createSecurityRequest(deps, { userId: user.id, type: 'reset', lifetimeSeconds });
  if (input.sendEmail === false) return;
  const minutes = Math.round((expiresAt.getTime() - deps.clock.now().getTime()) / 60000);
  await deps.mailer.send({
    to: user.email,
    subject: 'Reset your Tessera password',
    text: [
      `Someone, probably you, asked to reset the password of the Tessera account ${user.email}.`,
      '',
      `To choose a new password, open this link within ${minutes} minutes. It works once:`,
      '',
      url,
      '',
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ].join('\n'),
  });
}

/** Marks the user's other unused reset and invite links used: once a password is set, older links stop working. */
export async function retireOpenRequests(deps: LoginFlowDeps, tx: Queryable, userId: string): Promise<void> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT id FROM resource
      WHERE project_id = $1 AND resource_type = 'UserSecurityRequest' AND NOT deleted
        AND content->'user'->>'reference' = $2 AND content->>'type' IN ('reset', 'invite') AND coalesce(content->>'used', 'false') <> 'true'`,
    [SYSTEM_PROJECT_ID, `User/${userId}`],
  );
  const system = new SystemRepository(deps);
  for (const { id } of rows) {
    const current = await deps.store.lockCurrent(serverScope, tx, 'UserSecurityRequest', id);
    if (current && !current.deleted) await system.update<UserSecurityRequest>(serverScope, { ...(current.resource as UserSecurityRequest & { id: string }), used: true }, tx);
  }
}

export interface SetPasswordInput {
  id: string;
  secret: string;
  password: string;
}

/**
 * `POST /auth/setpassword`: checks the link (throttled per request id and per address; the
 * secret compared in constant time before anything about the request is said), the password
 * policy, then consumes the request, sets the password and revokes the user's logins in one
 * transaction that holds the request's row: of two concurrent uses, exactly one succeeds.
 */
export async function setPasswordWithSecret(deps: LoginFlowDeps, input: SetPasswordInput, context: PasswordCheckContext = {}): Promise<void> {
  const throttle = throttleOf(deps);
  const keys: ThrottleKey[] = [{ kind: 'secret', value: input.id, limit: throttle.settings.accountMaxFailures, onSuccess: 'clear' }];
  if (context.remoteAddress) keys.push(throttle.ipKey(context.remoteAddress));
  const attempt = await throttle.begin(keys);
  const system = new SystemRepository(deps);
  const request = await system.read<UserSecurityRequest>(serverScope, 'UserSecurityRequest', input.id);
  if (!secretMatches(input.secret, request?.secret) || !request) throw badRequest('Incorrect secret', 'secret');
  await attempt.succeeded();
  if (request.type !== 'reset' && request.type !== 'invite') throw badRequest('Invalid request type', 'id');
  if (request.used) throw badRequest('This link has already been used', 'id');
  const expiry = expiryOf(request);
  if (!expiry || expiry.getTime() <= deps.clock.now().getTime()) throw badRequest('This link has expired; ask for a new one', 'id');
  const found = await findUserById(deps, request.user.reference?.replace(/^User\//, '') ?? '');
  if (!found) throw badRequest('This link has expired; ask for a new one', 'id');
  const problem = passwordProblem(input.password, found.user.email);
  if (problem) throw badRequest(problem, 'password');
  const passwordHash = await deps.hasher.hash(input.password);
  await deps.db.transaction(async (tx) => {
    const current = await deps.store.lockCurrent(serverScope, tx, 'UserSecurityRequest', request.id);
    if (!current || current.deleted || (current.resource as UserSecurityRequest).used) throw badRequest('This link has already been used', 'id');
    await system.update<UserSecurityRequest>(serverScope, { ...(current.resource as UserSecurityRequest & { id: string }), used: true }, tx);
    await retireOpenRequests(deps, tx, found.user.id);
    await updateUser(deps, found, (user) => ({ ...user, passwordHash, emailVerified: true }), tx);
    await revokeUserLogins(deps, tx, found.user.id);
  });
  // Whoever holds the mailbox has proved it: a lock an attacker caused on the account goes too.
  if (found.user.email) await throttle.clear(throttle.accountKey(found.user.email));
}
