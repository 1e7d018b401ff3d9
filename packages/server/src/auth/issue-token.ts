/**
 * Issues an access token for a user's membership without a password: the operator's tool
 * (`tessera token --email`) on the server's own machine, for scripts and tests, until the
 * OAuth endpoints land. It records a Login like any sign-in, so revoking it works the same.
 */
import type { Login } from '@medplum/fhirtypes';
import type { Database } from '../db/database.js';
import type { ResourceStore } from '../fhir/resource-store.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { signAccessToken, type TokenDeps } from './access-token.js';

export interface IssueTokenDeps extends TokenDeps {
  db: Database;
  store: ResourceStore;
  lifetimeSeconds: number;
}

export interface IssuedToken {
  accessToken: string;
  expiresIn: number;
  projectId: string;
  membershipId: string;
  profile: string;
  loginId: string;
}

export class TokenIssueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenIssueError';
  }
}

export async function issueTokenForEmail(deps: IssueTokenDeps, email: string, projectId?: string): Promise<IssuedToken> {
  const serverScope = systemScope(SYSTEM_PROJECT_ID);
  const [user] = await deps.store.findUsersByEmail(serverScope, email);
  if (!user) {
    throw new TokenIssueError(`No server-wide user has the email ${email}`);
  }
  const memberships = (await deps.store.findMembershipsOfUser(serverScope, `User/${user.id}`)).filter(
    (m) => (m.resource as { active?: boolean }).active !== false && (!projectId || m.projectId === projectId),
  );
  const [chosen, ...others] = memberships;
  if (!chosen) {
    throw new TokenIssueError(projectId ? `${email} is not an active member of project ${projectId}` : `${email} has no active membership`);
  }
  if (others.length > 0 && !projectId) {
    throw new TokenIssueError(`${email} belongs to several projects; choose one with --project (${memberships.map((m) => m.projectId).join(', ')})`);
  }
  const profile = (chosen.resource as { profile?: { reference?: string } }).profile?.reference ?? '';
  const system = new SystemRepository(deps);
  const login = await system.create<Login>(serverScope, {
    resourceType: 'Login',
    user: { reference: `User/${user.id}` },
    project: { reference: `Project/${chosen.projectId}` },
    membership: { reference: `ProjectMembership/${chosen.id}` },
    authMethod: 'execute',
    authTime: deps.clock.now().toISOString(),
    scope: 'openid',
    granted: true,
    userAgent: 'tessera-cli',
  });
  const accessToken = await signAccessToken(
    deps,
    { login_id: login.id, project_id: chosen.projectId, membership_id: chosen.id, sub: user.id, profile, scope: 'openid' },
    deps.lifetimeSeconds,
  );
  return { accessToken, expiresIn: deps.lifetimeSeconds, projectId: chosen.projectId, membershipId: chosen.id, profile, loginId: login.id };
}
