/**
 * `/auth/*` as Medplum's (shared/reference/medplum-api.md section 1.3): registration
 * (`newuser`, `newproject`), password sign-in (`login`, `profile`), and `me`. Password checks
 * are throttled (429 with Retry-After); an MFA-enrolled user gets `{login, mfaRequired: true}`
 * and continues at `/auth/mfa/verify` (mfa-routes.ts). Bodies are JSON,
 * checked at the edge; failures are OperationOutcomes naming the field. Codes returned here
 * are exchanged at `/oauth2/token`. A login with `redirectUri` continues an authorization
 * request (the web app's `/oauth` page): it is checked as `/oauth2/authorize` checks one, and
 * its code is bound to that client, project and redirect URI (oauth/authorize-sign-in.ts).
 */
import type { Login, User } from '@medplum/fhirtypes';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createProjectWithOwner } from '../admin/create-project.js';
import { lockKeys } from '../db/advisory-locks.js';
import { parseBody } from '../http/parse-body.js';
import { badRequest, forbidden } from '../fhir/outcomes.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { authenticate, referenceId, type AuthenticateDeps } from './authenticate.js';
import { assertMfaDone, authenticatePassword, chooseMembership, continueLogin, createLogin, findUserByEmail, findUserOfContext, updateUser, issueCode, readPendingLogin, startLogin, type LoginFlowDeps } from './login-flow.js';
import { passwordProblem } from './password-policy.js';
import { startLoginForAuthorization } from '../oauth/authorize-sign-in.js';
import { isValidCodeChallenge } from './pkce.js';
import { buildMe } from './me.js';
import { addRetryAfterHeader } from './throttle.js';

export interface AuthRoutesOptions {
  deps: LoginFlowDeps & AuthenticateDeps;
  registration: 'open' | 'closed';
}

const email = z.email('must be a valid email address').max(254).transform((v) => v.toLowerCase());
const name = z.string().trim().min(1, 'is required').max(128);
const uuid = z.uuid('must be a login id');

/** PKCE and OIDC fields that every sign-in start accepts. S256 only: `plain` is refused. */
const signInFields = {
  // `new` (Medplum's convention) signs in without a membership, to create a project next.
  projectId: z.union([z.uuid(), z.literal('new')]).optional(),
  // MedplumClient sends an empty clientId when it has none: that means no client.
  clientId: z
    .union([z.literal(''), z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'must be a client id')])
    .optional()
    .transform((v) => v || undefined),
  scope: z.string().max(1000).optional(),
  nonce: z.string().max(256).optional(),
  codeChallenge: z.string().refine(isValidCodeChallenge, 'must be a base64url SHA-256 challenge (43 characters)').optional(),
  codeChallengeMethod: z.literal('S256', 'only S256 is supported').optional(),
  recaptchaToken: z.string().optional(),
  remember: z.boolean().optional(),
};

const loginSchema = z.object({
  email,
  password: z.string().min(1, 'is required').max(1024),
  resourceType: z.string().optional(),
  // Medplum's LoginRequest field: the redirect URI of the authorization request this sign-in continues.
  redirectUri: z.string().min(1, 'must not be empty').max(2048).optional(),
  ...signInFields,
});
const newUserSchema = z.object({ firstName: name, lastName: name, email, password: z.string().max(1024), ...signInFields });
const newProjectSchema = z.object({ login: uuid, projectName: z.string().trim().min(1, 'is required').max(128) });
const editSelfSchema = z
  .strictObject({ firstName: name.optional(), lastName: name.optional() })
  .refine((b) => b.firstName !== undefined || b.lastName !== undefined, 'send firstName and/or lastName');
const profileSchema = z.object({ login: uuid, profile: z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'must be a membership id') });

function checkPkcePair(body: { codeChallenge?: string; codeChallengeMethod?: string }): void {
  if (body.codeChallenge && !body.codeChallengeMethod) throw badRequest('codeChallengeMethod is required with codeChallenge', 'codeChallengeMethod');
  if (!body.codeChallenge && body.codeChallengeMethod) throw badRequest('codeChallenge is required with codeChallengeMethod', 'codeChallenge');
}

function clientMeta(request: FastifyRequest): { remoteAddress: string; userAgent?: string } {
  const ua = request.headers['user-agent'];
  return { remoteAddress: request.ip, ...(ua ? { userAgent: ua } : {}) };
}

export async function authRoutes(app: FastifyInstance, options: AuthRoutesOptions): Promise<void> {
  const { deps } = options;
  const system = new SystemRepository(deps);
  // A throttled password check answers 429 with Retry-After (throttle.ts).
  addRetryAfterHeader(app);
  const checkClient = async (clientId: string | undefined): Promise<void> => {
    const client = clientId ? await deps.store.locate(systemScope(SYSTEM_PROJECT_ID), 'ClientApplication', clientId) : undefined;
    if (clientId && (!client || client.deleted)) throw badRequest('Client not found', 'clientId');
  };

  app.post('/login', async (request) => {
    const body = parseBody(loginSchema, request.body);
    checkPkcePair(body);
    if (body.redirectUri !== undefined) return startLoginForAuthorization(deps, { ...body, redirectUri: body.redirectUri }, clientMeta(request));
    await checkClient(body.clientId);
    if (body.projectId === 'new') {
      const user = await authenticatePassword(deps, body.email, body.password, undefined, clientMeta(request));
      const login = await createLogin(deps, user, 'password', { ...body, ...clientMeta(request) });
      // `{login}`, or `{login, mfaRequired}` first for an enrolled user.
      return continueLogin(deps, login, clientMeta(request));
    }
    return startLogin(deps, { ...body, projectId: body.projectId, ...clientMeta(request) });
  });

  app.post('/profile', async (request) => {
    const body = parseBody(profileSchema, request.body);
    // The address choosing is checked against the membership's IP rules, as well as the Login's own.
    return chooseMembership(deps, body.login, body.profile, clientMeta(request));
  });

  app.post('/newuser', async (request) => {
    if (options.registration === 'closed') throw forbidden('Registration is closed on this server');
    const body = parseBody(newUserSchema, request.body);
    checkPkcePair(body);
    await checkClient(body.clientId);
    const problem = passwordProblem(body.password, body.email);
    if (problem) throw badRequest(problem, 'password');
    if (await findUserByEmail(deps, body.email)) throw badRequest('Email already registered', 'email');
    const passwordHash = await deps.hasher.hash(body.password);
    const serverScope = systemScope(SYSTEM_PROJECT_ID);
    const user = await deps.db.transaction(async (tx) => {
      // Re-check under a lock keyed on the email, so two registrations of one address make one User.
      await lockKeys(tx, [`user-email:${body.email}`]);
      if ((await deps.store.findUsersByEmail(serverScope, body.email, tx)).length > 0) throw badRequest('Email already registered', 'email');
      return system.create<User>(serverScope, { resourceType: 'User', firstName: body.firstName, lastName: body.lastName, email: body.email, passwordHash }, tx);
    });
    const login = await createLogin(deps, user, 'password', { ...body, ...clientMeta(request) });
    return { login: login.id };
  });

  app.post('/newproject', async (request) => {
    const body = parseBody(newProjectSchema, request.body);
    const login = await readPendingLogin(deps, body.login);
    if (login.membership) throw badRequest('Login already has a membership', 'login');
    assertMfaDone(login);
    const userId = referenceId(login.user, 'User') ?? '';
    const owner = await system.read<User>(systemScope(SYSTEM_PROJECT_ID), 'User', userId);
    if (!owner) throw badRequest('Login not found', 'login');
    const projectId = deps.random.uuid();
    const { membership } = await deps.db.transaction((tx) => createProjectWithOwner(system, tx, { projectId, name: body.projectName, owner }));
    return issueCode(deps, login as Login & { id: string }, projectId, membership, clientMeta(request));
  });

  await app.register(async (secured) => {
    secured.addHook('onRequest', authenticate(deps));
    secured.get('/me', async (request) => {
      const ctx = request.ctx;
      if (!ctx) throw new Error('route reached without authentication');
      return buildMe(deps, ctx);
    });
    // A User edits only itself (beyond Medplum, which has no such endpoint): its names here,
    // its password through /auth/changepassword. Email changes need a verification flow first.
    secured.patch('/me', async (request) => {
      const ctx = request.ctx;
      if (!ctx) throw new Error('route reached without authentication');
      const body = parseBody(editSelfSchema, request.body);
      const found = await findUserOfContext(deps, ctx);
      await updateUser(deps, found, (user) => ({
        ...user,
        ...(body.firstName !== undefined ? { firstName: body.firstName } : {}),
        ...(body.lastName !== undefined ? { lastName: body.lastName } : {}),
      }));
      return buildMe(deps, ctx);
    });
  });
}
