/**
 * What every token grant receives, and the steps they share: locking the Login, loading its
 * membership and project, and issuing the token set. One file per grant uses these
 * (authorization-code.ts, refresh-token.ts); the token route picks the grant from a map.
 */
import type { Login, Project, ProjectMembership, User } from '@medplum/fhirtypes';
import type { Queryable } from '../db/database.js';
import type { TokenDeps } from '../auth/access-token.js';
import { OAuthError } from '../auth/auth-errors.js';
import type { LoginFlowDeps, StoredLogin } from '../auth/login-flow.js';
import { referenceId } from '../auth/authenticate.js';
import { issueTokenSet, type TokenResponse } from '../auth/token-set.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import type { TokenLifetimes } from './token-lifetime.js';

export type GrantDeps = LoginFlowDeps & TokenDeps & { accessLifetimeSeconds: number };

export interface GrantRequest {
  /** The form parameters, each given once (RFC 6749 section 3.2). */
  params: Record<string, string>;
  /** Client credentials from HTTP Basic or the form, when the client sent any. */
  client?: { id: string; secret?: string };
  /** The address the request came from (for the Login and the audit log). */
  remoteAddress?: string;
}

export type Grant = (deps: GrantDeps, request: GrantRequest) => Promise<TokenResponse>;

export const serverScope = systemScope(SYSTEM_PROJECT_ID);

export function requireParam(request: GrantRequest, name: string): string {
  const value = request.params[name];
  if (!value) throw new OAuthError('invalid_request', `Missing ${name}`);
  return value;
}

export async function lockLogin(deps: GrantDeps, tx: Queryable, loginId: string): Promise<StoredLogin | undefined> {
  const row = await deps.store.lockCurrent(serverScope, tx, 'Login', loginId);
  return row && !row.deleted ? (row.resource as StoredLogin) : undefined;
}

/** Marks a login revoked in its own transaction, so the revocation stands when the grant then fails. */
export async function revokeLogin(deps: GrantDeps, loginId: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const login = await lockLogin(deps, tx, loginId);
    if (login && !login.revoked) {
      await new SystemRepository(deps).update<Login>(serverScope, { ...login, revoked: true }, tx);
    }
  });
}

export interface LoginParties {
  membership: ProjectMembership & { id: string };
  project: Project & { id: string };
  user: User & { id: string };
  projectId: string;
}

/** The login's membership (still active), its project and its user, or invalid_grant. */
export async function loadParties(deps: GrantDeps, tx: Queryable, login: StoredLogin): Promise<LoginParties> {
  const projectId = referenceId(login.project, 'Project');
  const membershipId = referenceId(login.membership, 'ProjectMembership');
  const userId = referenceId(login.user, 'User');
  if (!projectId || !membershipId || !userId) throw new OAuthError('invalid_grant', 'Login has no membership');
  const system = new SystemRepository(deps);
  const scope = systemScope(projectId);
  const membership = await system.read<ProjectMembership>(scope, 'ProjectMembership', membershipId, tx);
  const project = await system.read<Project>(scope, 'Project', projectId, tx);
  const user = (await system.read<User>(serverScope, 'User', userId, tx)) ?? (await system.read<User>(scope, 'User', userId, tx));
  if (!membership || membership.active === false || !project || !user || membership.user?.reference !== `User/${userId}`) {
    throw new OAuthError('invalid_grant', 'The membership of this login is no longer active');
  }
  return { membership, project, user, projectId };
}

/** The token set of a granted login; `lifetimes` are the login's client's (token-lifetime.ts), else the defaults. */
export function tokensFor(deps: GrantDeps, login: StoredLogin, parties: LoginParties, refreshSecret: string | undefined, lifetimes?: TokenLifetimes): Promise<TokenResponse> {
  return issueTokenSet(deps, {
    login,
    membership: parties.membership,
    projectId: parties.projectId,
    userId: parties.user.id,
    email: parties.user.email,
    clientId: referenceId(login.client, 'ClientApplication'),
    refreshSecret,
    accessLifetimeSeconds: lifetimes?.accessLifetimeSeconds ?? deps.accessLifetimeSeconds,
    ...(lifetimes ? { refreshLifetimeSeconds: lifetimes.refreshLifetimeSeconds } : {}),
  });
}
