/**
 * The password family of `/auth/*` (shared/reference/medplum-api.md section 1.3):
 * `resetpassword` (always the same answer), `setpassword` (from a reset or invite link) and
 * `changepassword` (signed in, with the current password). Failures are OperationOutcomes
 * naming the field; throttled checks answer 429 with `Retry-After`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Mailer } from '../email/mailer.js';
import { parseBody } from '../http/parse-body.js';
import { allOk, badRequest } from '../fhir/outcomes.js';
import { authenticate, type AuthenticateDeps } from './authenticate.js';
import { findUserOfContext, revokeUserLogins, throttleOf, updateUser, type LoginFlowDeps } from './login-flow.js';
import { passwordProblem } from './password-policy.js';
import type { RequestContext } from './request-context.js';
import { requestPasswordReset, setPasswordWithSecret, type SecurityRequestDeps } from './security-requests.js';
import { addRetryAfterHeader, ThrottledError } from './throttle.js';

export interface PasswordRoutesOptions {
  deps: LoginFlowDeps & AuthenticateDeps & SecurityRequestDeps & { mailer: Mailer };
  resetLinkLifetimeSeconds: number;
}

const resetSchema = z.object({
  email: z.email('must be a valid email address').max(254).transform((v) => v.toLowerCase()),
  projectId: z.uuid('must be a project id').optional(),
  sendEmail: z.boolean().optional(),
});
const setPasswordSchema = z.object({
  id: z.uuid('must be the id from the link'),
  secret: z.string().min(1, 'is required').max(200),
  password: z.string().max(1024),
});
const changePasswordSchema = z.object({
  oldPassword: z.string().min(1, 'is required').max(1024),
  newPassword: z.string().max(1024),
});

/**
 * Checks the current password (throttled like a sign-in), sets the new one, and revokes the
 * user's other logins; the login making the change stays signed in.
 */
export async function changePassword(deps: LoginFlowDeps, ctx: RequestContext, body: z.infer<typeof changePasswordSchema>, remoteAddress: string): Promise<void> {
  const found = await findUserOfContext(deps, ctx);
  const throttle = throttleOf(deps);
  let attempt;
  try {
    attempt = await throttle.begin(throttle.passwordKeys(found.user.email ?? found.user.id, remoteAddress));
  } catch (err) {
    if (err instanceof ThrottledError) await deps.hasher.verify(undefined, body.oldPassword);
    throw err;
  }
  if (!(await deps.hasher.verify(found.user.passwordHash, body.oldPassword))) throw badRequest('Incorrect password', 'oldPassword');
  await attempt.succeeded();
  const problem = passwordProblem(body.newPassword, found.user.email);
  if (problem) throw badRequest(problem, 'newPassword');
  const passwordHash = await deps.hasher.hash(body.newPassword);
  await deps.db.transaction(async (tx) => {
    await updateUser(deps, found, (user) => ({ ...user, passwordHash }), tx);
    await revokeUserLogins(deps, tx, found.user.id, ctx.login.id);
  });
}

export async function passwordRoutes(app: FastifyInstance, options: PasswordRoutesOptions): Promise<void> {
  const { deps } = options;
  addRetryAfterHeader(app);

  // Reset work runs after the answer; closing the server waits for what is still running.
  const running = new Set<Promise<void>>();
  app.addHook('onClose', async () => {
    await Promise.allSettled([...running]);
  });
  const runAfterAnswer = (request: FastifyRequest, work: () => Promise<void>): void => {
    const task = work()
      .catch((err: unknown) => request.log.error({ err }, 'password reset failed'))
      .finally(() => running.delete(task));
    running.add(task);
  };

  app.post('/resetpassword', async (request) => {
    const body = parseBody(resetSchema, request.body);
    // Nothing about the account happens before the answer: same body, same time (ASVS V6.3.8).
    runAfterAnswer(request, () => requestPasswordReset(deps, body, options.resetLinkLifetimeSeconds));
    return allOk('If an account has this email, a link to reset its password has been sent');
  });

  app.post('/setpassword', async (request) => {
    const body = parseBody(setPasswordSchema, request.body);
    await setPasswordWithSecret(deps, body, { remoteAddress: request.ip });
    return allOk('Password set');
  });

  await app.register(async (secured) => {
    secured.addHook('onRequest', authenticate(deps));
    secured.post('/changepassword', async (request) => {
      const body = parseBody(changePasswordSchema, request.body);
      await changePassword(deps, request.ctx as RequestContext, body, request.ip);
      return allOk('Password changed');
    });
  });
}
