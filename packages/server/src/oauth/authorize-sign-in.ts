/**
 * What the sign-in page does once its form is trusted, through the sign-in core
 * (auth/login-flow.ts, auth/mfa.ts) so that password checks, throttling, MFA and Login records
 * are the same as `/auth/login`'s: check the password, create the Login for this client (scope,
 * nonce, PKCE challenge, and the redirect URI kept for the code exchange), then continue it:
 * a TOTP step when the user is enrolled, a code for the one membership, or the choice.
 * The Login names the client's project, so only memberships of that project are offered: a
 * client registered in one project never receives tokens for another.
 * The web app's `/oauth` page reaches the same password step through `/auth/login` with a
 * `redirectUri` (startLoginForAuthorization); its MFA and membership steps are then
 * `/auth/mfa/verify` and `/auth/profile`, which keep the Login's project.
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
  type LoginFlowDeps,
  type LoginResult,
  type MembershipChoice,
} from '../auth/login-flow.js';
import { verifyMfaLogin } from '../auth/mfa.js';
import { badRequest, forbidden } from '../fhir/outcomes.js';
import { systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { AuthorizePageError, AuthorizeRedirectError, checkAuthorizeRequest, type AuthorizeCheckDeps, type AuthorizeParam, type AuthorizeRequest } from './authorize-request.js';
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
  return nextStep(deps, await startAuthorizedLogin(deps, authz, email, password, meta));
}

/**
 * The password step for a checked authorization request, as `/auth/login` answers it: the
 * Login is bound to the client, its project, the scope, nonce and PKCE challenge, and the
 * redirect URI, so the code it leads to is good only for that client at that redirect URI.
 * Both the server-rendered page and the web app's `/oauth` page (through `/auth/login` with
 * `redirectUri`) come here, after `checkAuthorizeRequest` on what the browser sent.
 */
export async function startAuthorizedLogin(deps: LoginFlowDeps, authz: AuthorizeRequest, email: string, password: string, meta: ClientMeta): Promise<LoginResult> {
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
  return continueLogin(deps, login, meta);
}

/** A `/auth/login` body that continues an authorization request (the web app's `/oauth` page). */
export interface AuthorizationLoginBody {
  email: string;
  password: string;
  redirectUri: string;
  clientId?: string;
  projectId?: string;
  scope?: string;
  nonce?: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
}

/** The `/auth/login` field that carries each authorization request parameter. */
const LOGIN_FIELD: Partial<Record<AuthorizeParam, string>> = {
  client_id: 'clientId',
  redirect_uri: 'redirectUri',
  scope: 'scope',
  nonce: 'nonce',
  code_challenge: 'codeChallenge',
  code_challenge_method: 'codeChallengeMethod',
};

/**
 * `/auth/login` with a `redirectUri`: the page that sent it is never trusted, so the request is
 * checked here as `/oauth2/authorize` checks one (active client, exact registered redirect URI,
 * scope, PKCE S256 unless a confidential client is `pkceOptional`), the sign-in is kept to the
 * client's project, and the Login is bound to all of it. Failures name the body's field.
 */
export async function startLoginForAuthorization(deps: LoginFlowDeps & AuthorizeCheckDeps, body: AuthorizationLoginBody, meta: ClientMeta): Promise<LoginResult> {
  if (!body.clientId) throw badRequest('clientId is required with redirectUri', 'clientId');
  const params: Record<string, string> = {
    client_id: body.clientId,
    redirect_uri: body.redirectUri,
    response_type: 'code',
    // `/auth/login`'s default scope, as without a redirectUri.
    scope: body.scope ?? 'openid',
    ...(body.nonce !== undefined ? { nonce: body.nonce } : {}),
    ...(body.codeChallenge !== undefined ? { code_challenge: body.codeChallenge } : {}),
    ...(body.codeChallengeMethod !== undefined ? { code_challenge_method: body.codeChallengeMethod } : {}),
  };
  let authz: AuthorizeRequest;
  try {
    authz = await checkAuthorizeRequest(deps, params);
  } catch (err) {
    if (err instanceof AuthorizePageError || err instanceof AuthorizeRedirectError) {
      const field = err.param ? LOGIN_FIELD[err.param] : undefined;
      throw badRequest(err.message, field);
    }
    throw err;
  }
  // Medplum's rule too: a projectId must be the client's own (the sign-in is kept to it anyway).
  if (body.projectId !== undefined && body.projectId !== authz.client.projectId) throw badRequest('Invalid projectId: the application belongs to another project', 'projectId');
  return startAuthorizedLogin(deps, authz, body.email, body.password, meta);
}

export async function verifyMfaForAuthorization(deps: GrantDeps, authz: AuthorizeRequest, loginId: string, token: string, meta: ClientMeta): Promise<SignInStep> {
  await readLoginOfClient(deps, authz, loginId);
  return nextStep(deps, await verifyMfaLogin(deps, loginId, token, meta));
}

/** The membership choice; `meta` (the choosing request's address) is checked against its IP rules with the Login's own. */
export async function chooseForAuthorization(deps: GrantDeps, authz: AuthorizeRequest, loginId: string, membershipId: string, meta?: ClientMeta): Promise<SignInStep> {
  await readLoginOfClient(deps, authz, loginId);
  return nextStep(deps, await chooseMembership(deps, loginId, membershipId, meta));
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
