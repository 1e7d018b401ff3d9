/**
 * TOTP multi-factor authentication, Medplum's `/auth/mfa/*` (medplum-api.md section 1.3):
 * status (with the enrollment URI while not enrolled), enroll, verify a sign-in, disable.
 * Every code check is throttled per user and per address (throttle.ts) and a code is accepted
 * once: the last time step used is kept per user (`mfa_used_step`), and a code of that step or
 * an earlier one is refused (RFC 6238 section 5.2, ASVS V6.5.1).
 *
 * `User.mfaSecret` leaves the server only in the enrollment URI, and only until the user is
 * enrolled; FHIR reads never show it (protected-types.ts).
 * Not here: email codes, recovery codes, enrolling at sign-in for `mfaRequired` users.
 */
import type { Login } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcomes.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { referenceId } from './authenticate.js';
import { continueLogin, findUserById, readPendingLogin, throttleOf, updateUser, type LoginFlowDeps, type LoginResult, type PasswordCheckContext, type StoredLogin, type StoredUser } from './login-flow.js';
import { matchTotp, newTotpSecret, totpEnrollUri } from './mfa-totp.js';
import type { ThrottleKey } from './throttle.js';

export type FoundUser = { user: StoredUser; projectId: string };

export type MfaStatus = { enrolled: true } | { enrolled: false; enrollUri: string };

const serverScope = systemScope(SYSTEM_PROJECT_ID);

/** Enrolled, or not yet: then the URI to scan, with a secret made now if the user has none. */
export async function mfaStatus(deps: LoginFlowDeps, found: FoundUser): Promise<MfaStatus> {
  if (found.user.mfaEnrolled) return { enrolled: true };
  let user = found.user;
  if (!user.mfaSecret) {
    user = await updateUser(deps, found, (u) => (u.mfaSecret || u.mfaEnrolled ? u : { ...u, mfaSecret: newTotpSecret() }));
    if (user.mfaEnrolled) return { enrolled: true };
  }
  return { enrolled: false, enrollUri: totpEnrollUri(user.email ?? user.id, user.mfaSecret as string) };
}

export async function enrollMfa(deps: LoginFlowDeps, found: FoundUser, token: string, context: PasswordCheckContext): Promise<void> {
  if (found.user.mfaEnrolled) throw badRequest('Already enrolled');
  if (!found.user.mfaSecret) throw badRequest('No secret yet: read GET /auth/mfa/status first');
  await checkCode(deps, found.user, token, context);
  await updateUser(deps, found, (u) => ({ ...u, mfaEnrolled: true }));
}

/** Turns MFA off with a current code; refused when the user must use MFA. The next enrollment gets a new secret. */
export async function disableMfa(deps: LoginFlowDeps, found: FoundUser, token: string, context: PasswordCheckContext): Promise<void> {
  if (!found.user.mfaEnrolled) throw badRequest('Not enrolled');
  if (found.user.mfaRequired) throw badRequest('Multi-factor authentication is required for this account');
  await checkCode(deps, found.user, token, context);
  await updateUser(deps, found, ({ mfaSecret: _secret, ...u }) => ({ ...u, mfaEnrolled: false }));
  await deps.db.query('DELETE FROM mfa_used_step WHERE user_id = $1', [found.user.id]);
}

/** The second step of a password sign-in: marks the Login verified, then continues it (code or memberships). */
export async function verifyMfaLogin(deps: LoginFlowDeps, loginId: string, token: string, context: PasswordCheckContext): Promise<LoginResult> {
  const login = await readPendingLogin(deps, loginId);
  if (login.mfaVerified !== false) throw badRequest('Login already verified', 'login');
  const found = await findUserById(deps, referenceId(login.user, 'User') ?? '');
  if (!found?.user.mfaEnrolled || !found.user.mfaSecret) throw badRequest('User not enrolled in MFA', 'login');
  await checkCode(deps, found.user, token, context);
  const verified = await deps.db.transaction(async (tx) => {
    const current = await deps.store.lockCurrent(serverScope, tx, 'Login', login.id);
    const stored = current?.resource as StoredLogin | undefined;
    if (!stored || current?.deleted || stored.revoked || stored.mfaVerified !== false) throw badRequest('Login already verified', 'login');
    return new SystemRepository(deps).update<Login>(serverScope, { ...stored, mfaVerified: true }, tx);
  });
  return continueLogin(deps, verified, context);
}

/** A code of the user's secret, within a step of now, newer than the last one used; throttled. */
async function checkCode(deps: LoginFlowDeps, user: StoredUser, token: string, context: PasswordCheckContext): Promise<void> {
  const throttle = throttleOf(deps);
  const keys: ThrottleKey[] = [{ kind: 'mfa', value: user.id, limit: throttle.settings.mfaMaxFailures, onSuccess: 'clear' }];
  if (context.remoteAddress) keys.push(throttle.ipKey(context.remoteAddress));
  const attempt = await throttle.begin(keys);
  const step = user.mfaSecret ? matchTotp(user.mfaSecret, token.replace(/\s/g, ''), deps.clock.now()) : undefined;
  if (step === undefined) throw badRequest('Invalid MFA token', 'token');
  // Only a step newer than the last one used moves it forward; no row back means a replay.
  const { rowCount } = await deps.db.query(
    `INSERT INTO mfa_used_step (user_id, last_step) VALUES ($1, $2)
     ON CONFLICT (user_id) DO UPDATE SET last_step = EXCLUDED.last_step WHERE mfa_used_step.last_step < EXCLUDED.last_step`,
    [user.id, step],
  );
  if (rowCount === 0) throw badRequest('This code was already used; wait for the next one', 'token');
  await attempt.succeeded();
}
