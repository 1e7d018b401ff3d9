/**
 * What the sign-in page does once its form is trusted, through the sign-in core
 * (auth/login-flow.ts, auth/mfa.ts) so that password checks, throttling, MFA and Login records
 * are the same as `/auth/login`'s: check the password, create the Login for this client (scope,
 * nonce, PKCE challenge, and the redirect URI kept for the code exchange), then continue it:
 * a TOTP step when the user is enrolled, a code for the one membership, or the choice.
 * The Login names the client's project, so only memberships of that project are offered: a
 * client registered in one project never receives tokens for another.
 */
import type { Login, Project } from '@medplum/fhirtypes';
import { referenceId } from '../auth/authenticate.js';
import {
  activeMemberships,
  authenticatePassword,
  chooseMembership,
  continueLogin,
  createLogin,
  readPendingLogin,
  type LoginResult,
  type MembershipChoice,
} from '../auth/login-flow.js';
import { verifyMfaLogin } from '../auth/mfa.js';
import { badRequest, forbidden } from '../fhir/outcomes.js';
import { systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import type { AuthorizeRequest } from './authorize-request.js';
import { serverScope, type GrantDeps } from './grant-context.js';
import { withRedirectUri } from './redirect-uri.js';

export interface Choice {
  id: string;
  label: string;
}

export type SignInStep = { code: string } | { login: string; mfa: true } | { login: string; choices: Choice[] };

export interface ClientMeta {
  remoteAddress: string;
  userAgent?: string;
}

const NO_ACCESS = "This account has no access to this application's project";

export async function signInForAuthorization(deps: GrantDeps, authz: AuthorizeRequest, email: string, password: string, meta: ClientMeta): Promise<SignInStep> {
  const projectId = authz.client.projectId;
  const user = await authenticatePassword(deps, email, password, projectId, meta);
  if ((await activeMemberships(deps, user.id, projectId)).length === 0) throw forbidden(NO_ACCESS);
  const created = await createLogin(deps, user, 'password', {
    projectId,
    clientId: authz.client.id,
    scope: authz.scope,
    ...(authz.nonce !== undefined ? { nonce: authz.nonce } : {}),
    ...(authz.codeChallenge ? { codeChallenge: authz.codeChallenge, codeChallengeMethod: 'S256' } : {}),
    ...meta,
  });
  // Record the redirect URI, which the code exchange must repeat (RFC 6749 section 4.1.3).
  const login = await new SystemRepository(deps).update<Login>(serverScope, withRedirectUri(created, authz.redirectUri));
  return nextStep(deps, await continueLogin(deps, login));
}

export async function verifyMfaForAuthorization(deps: GrantDeps, authz: AuthorizeRequest, loginId: string, token: string, meta: ClientMeta): Promise<SignInStep> {
  await readLoginOfClient(deps, authz, loginId);
  return nextStep(deps, await verifyMfaLogin(deps, loginId, token, meta));
}

export async function chooseForAuthorization(deps: GrantDeps, authz: AuthorizeRequest, loginId: string, membershipId: string): Promise<SignInStep> {
  await readLoginOfClient(deps, authz, loginId);
  return nextStep(deps, await chooseMembership(deps, loginId, membershipId));
}

/** The choices offered again after a failed choice. */
export async function choicesOfLogin(deps: GrantDeps, authz: AuthorizeRequest, loginId: string): Promise<Choice[]> {
  const login = await readLoginOfClient(deps, authz, loginId);
  const memberships = await activeMemberships(deps, referenceId(login.user, 'User') ?? '', authz.client.projectId);
  return describeChoices(deps, memberships);
}

async function readLoginOfClient(deps: GrantDeps, authz: AuthorizeRequest, loginId: string): Promise<Login & { id: string }> {
  const login = await readPendingLogin(deps, loginId);
  if (login.membership || referenceId(login.client, 'ClientApplication') !== authz.client.id) throw badRequest('Login not found', 'login');
  return login;
}

async function nextStep(deps: GrantDeps, result: LoginResult): Promise<SignInStep> {
  if (result.code) return { code: result.code };
  if (result.mfaRequired) return { login: result.login, mfa: true };
  if (result.memberships && result.memberships.length > 0) return { login: result.login, choices: await describeChoices(deps, result.memberships) };
  throw forbidden(NO_ACCESS);
}

async function describeChoices(deps: GrantDeps, memberships: MembershipChoice[]): Promise<Choice[]> {
  const system = new SystemRepository(deps);
  return Promise.all(
    memberships.map(async (m) => {
      const projectId = referenceId(m.project, 'Project');
      const project = projectId ? await system.read<Project>(systemScope(projectId), 'Project', projectId) : undefined;
      const profile = m.profile?.display ?? m.profile?.reference ?? 'member';
      return { id: m.id, label: `${project?.name ?? 'Project'}: ${profile}` };
    }),
  );
}
