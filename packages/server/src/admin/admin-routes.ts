/**
 * The project administration API at `/admin` (Medplum's paths, so `MedplumClient.invite()`
 * and existing scripts work): invite, members, clients, bots. Every route needs a bearer token
 * and, through `requireProjectAdmin`, an admin of the project in the path. Each part registers
 * its routes from its own file.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LoginThrottle } from '../auth/throttle.js';
import { authenticate, type AuthenticateDeps } from '../auth/authenticate.js';
import type { PasswordHasher } from '../auth/passwords.js';
import type { RequestContext } from '../auth/request-context.js';
import type { Mailer } from '../email/mailer.js';
import type { RepositoryDeps } from '../fhir/repository.js';
import { forbidden, notFound } from '../fhir/outcomes.js';

export interface AdminDeps extends AuthenticateDeps, RepositoryDeps {
  hasher: PasswordHasher;
  mailer: Mailer;
  throttle: LoginThrottle;
  /** The server's public base URL, ending in `/` (links in emails). */
  baseUrl: string;
  /** How long an emailed set-password link of an invite works (INVITE_LINK_LIFETIME_SECONDS). */
  inviteLinkLifetimeSeconds: number;
}

export interface AdminRoutesOptions {
  deps: AdminDeps;
}

/** Registers one part of the admin API; every part gets the same options. */
export type AdminPart = (app: FastifyInstance, options: AdminRoutesOptions) => Promise<void>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The caller, who must be an admin of `projectId`: a project admin acts in its own project
 * only; a super admin in any. Anything else is 403 (an unknown project id answers 404 to a
 * super admin only, so that project ids do not leak to others).
 */
export function requireProjectAdmin(request: FastifyRequest, projectId: string): RequestContext {
  const ctx = request.ctx;
  if (!ctx) {
    throw new Error('admin route reached without authentication');
  }
  if (ctx.superAdmin) {
    if (!UUID.test(projectId)) {
      throw notFound(`Project ${projectId} not found`);
    }
    return ctx;
  }
  if (projectId.toLowerCase() !== ctx.projectId) {
    throw forbidden('Only an admin of this project can manage it');
  }
  if (!ctx.admin) {
    throw forbidden('Only project admins can manage the project');
  }
  return ctx;
}

export async function adminRoutes(app: FastifyInstance, options: AdminRoutesOptions & { parts: AdminPart[] }): Promise<void> {
  app.addHook('onRequest', authenticate(options.deps));
  for (const part of options.parts) {
    await app.register(part, { deps: options.deps });
  }
}
