/**
 * Programmatic identities of a project, made by its admins: client applications (a secret for
 * client_credentials, redirect URIs for the code flow, token lifetimes) and bots. Each gets its
 * own ProjectMembership (`user` = `profile` = the client or bot) with an optional access policy,
 * created in the same transaction as the identity and its audit record, so there is never a
 * client without its membership or an action without its record.
 *
 * Secrets: 32 random bytes, hex (as Medplum's `generateSecret(32)`), kept in
 * `ClientApplication.secret` as the token endpoint already reads it (src/oauth/client-auth.ts
 * compares in constant time). The admin API answers with the secret only when it is made
 * (create, rotate). A rotated secret is refused on the very next request, because every
 * client authentication reads the stored one. Disabling sets `status: off`, which the token
 * endpoint and the bearer check (auth/authenticate.ts) refuse.
 * Not here: the HTTP shapes (client-routes.ts, bot-routes.ts).
 */
import { randomBytes } from 'node:crypto';
import type { AccessPolicy, ClientApplication, Login, Project, ProjectMembership, Reference } from '@medplum/fhirtypes';
import { z } from 'zod';
import { recordAuditEvent, type AuditAction, type AuditDeps } from '../audit/audit-log.js';
import type { RequestContext } from '../auth/request-context.js';
import type { Queryable } from '../db/database.js';
import { assertValidId } from '../fhir/ids.js';
import { badRequest, notFound } from '../fhir/outcomes.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { isUsableRedirectUri } from '../oauth/redirect-uri.js';
import { ACCESS_LIFETIME_BOUNDS, parseDuration, REFRESH_LIFETIME_BOUNDS } from '../oauth/token-lifetime.js';

export type StoredClient = ClientApplication & { id: string };

/** Who acts, for the audit log. */
export interface AdminCaller {
  ctx: RequestContext;
  remoteAddress?: string;
}

const redirectUri = z.string().max(2048).refine(isUsableRedirectUri, 'must be an absolute URI without a fragment (not javascript:, data:, file:)');

/** `AccessPolicy/<id>`; that it exists in the project is checked in the transaction. */
export const accessPolicyReference = z.object({ reference: z.string().regex(/^AccessPolicy\/[A-Za-z0-9\-.]{1,64}$/, 'must be "AccessPolicy/<id>"'), display: z.string().max(256).optional() });

/** A duration as Medplum writes it (`1h`), or a whole number of seconds, stored as the former. */
function lifetime(bounds: { min: number; max: number }, range: string) {
  return z
    .union([z.string(), z.number()])
    .transform((value, context) => {
      const text = typeof value === 'number' ? (Number.isInteger(value) ? `${value}s` : '') : value;
      const seconds = parseDuration(text);
      if (seconds === undefined) {
        context.addIssue({ code: 'custom', message: 'must be a duration such as "10m", "4h", "30d" (a number and one of s, m, h, d, w, y) or a whole number of seconds' });
        return z.NEVER;
      }
      if (seconds < bounds.min || seconds > bounds.max) {
        context.addIssue({ code: 'custom', message: `must be between ${range}` });
        return z.NEVER;
      }
      return text;
    });
}

/** `POST /admin/projects/:projectId/client` (Medplum's fields, plus redirectUris, pkceOptional and the access token lifetime). */
export const createClientSchema = z.object({
  name: z.string().trim().min(1, 'is required').max(256),
  description: z.string().max(2000).optional(),
  redirectUri: redirectUri.optional(),
  redirectUris: z.array(redirectUri).max(50).optional(),
  accessPolicy: accessPolicyReference.optional(),
  pkceOptional: z.boolean().optional(),
  accessTokenLifetime: lifetime(ACCESS_LIFETIME_BOUNDS, '1m and 24h').optional(),
  refreshTokenLifetime: lifetime(REFRESH_LIFETIME_BOUNDS, '1m and 365d').optional(),
});

export type CreateClientInput = z.infer<typeof createClientSchema>;

export function newClientSecret(): string {
  return randomBytes(32).toString('hex');
}

/** The project in the path, which must exist (a super admin may name any project). */
export async function requireProject(deps: AuditDeps, projectId: string, q?: Queryable): Promise<Project & { id: string }> {
  const project = await new SystemRepository(deps).read<Project>(systemScope(projectId), 'Project', projectId, q);
  if (!project) throw notFound(`Project ${projectId} not found`);
  return project;
}

/** An access policy of this project, or 400 naming `accessPolicy`: another project's is as unknown as a missing one. */
export async function assertPolicyInProject(deps: AuditDeps, projectId: string, policy: Reference | undefined, tx: Queryable): Promise<void> {
  if (!policy?.reference) return;
  const id = policy.reference.slice('AccessPolicy/'.length);
  const found = await new SystemRepository(deps).read<AccessPolicy>(systemScope(projectId), 'AccessPolicy', id, tx);
  if (!found) throw badRequest(`${policy.reference} is not an access policy of this project`, 'accessPolicy');
}

/** The identity's own membership: `user` and `profile` are the identity itself. */
export function identityMembership(projectId: string, identity: Reference, accessPolicy: Reference | undefined): ProjectMembership {
  return {
    resourceType: 'ProjectMembership',
    project: { reference: `Project/${projectId}` },
    user: identity as ProjectMembership['user'],
    profile: identity as ProjectMembership['profile'],
    ...(accessPolicy ? { accessPolicy: { reference: accessPolicy.reference } as ProjectMembership['accessPolicy'] } : {}),
    active: true,
  };
}

export async function auditAdminAction(
  deps: AuditDeps,
  tx: Queryable,
  projectId: string,
  caller: AdminCaller,
  action: AuditAction,
  what: Reference[],
  description: string,
): Promise<void> {
  await recordAuditEvent(
    deps,
    {
      projectId,
      action,
      who: caller.ctx.author,
      onBehalfOf: caller.ctx.profile,
      what,
      outcome: 'success',
      description,
      ...(caller.remoteAddress ? { remoteAddress: caller.remoteAddress } : {}),
    },
    tx,
  );
}

/** Creates the client, its membership and the audit record; answers the client with its secret. */
export async function createClient(deps: AuditDeps, caller: AdminCaller, projectId: string, input: CreateClientInput): Promise<StoredClient> {
  const system = new SystemRepository(deps);
  const scope = systemScope(projectId);
  return deps.db.transaction(async (tx) => {
    await requireProject(deps, projectId, tx);
    await assertPolicyInProject(deps, projectId, input.accessPolicy, tx);
    const client = await system.create<ClientApplication>(
      scope,
      {
        resourceType: 'ClientApplication',
        status: 'active',
        name: input.name,
        ...(input.description !== undefined ? { description: input.description } : {}),
        secret: newClientSecret(),
        ...(input.redirectUri !== undefined ? { redirectUri: input.redirectUri } : {}),
        ...(input.redirectUris !== undefined ? { redirectUris: input.redirectUris } : {}),
        ...(input.pkceOptional !== undefined ? { pkceOptional: input.pkceOptional } : {}),
        ...(input.accessTokenLifetime !== undefined ? { accessTokenLifetime: input.accessTokenLifetime } : {}),
        ...(input.refreshTokenLifetime !== undefined ? { refreshTokenLifetime: input.refreshTokenLifetime } : {}),
      },
      tx,
    );
    const identity = { reference: `ClientApplication/${client.id}`, display: input.name };
    const membership = await system.create<ProjectMembership>(scope, identityMembership(projectId, identity, input.accessPolicy), tx);
    await auditAdminAction(deps, tx, projectId, caller, 'client-create', [{ reference: identity.reference }, { reference: `ProjectMembership/${membership.id}` }], `Created client application "${input.name}"`);
    return client;
  });
}

/** Locks a client of this project for a change, or 404. */
async function lockClient(deps: AuditDeps, tx: Queryable, projectId: string, clientId: string): Promise<StoredClient> {
  assertValidId(clientId, 'id');
  const current = await deps.store.lockCurrent(systemScope(projectId), tx, 'ClientApplication', clientId);
  if (!current || current.deleted || !current.resource) throw notFound(`ClientApplication ${clientId} not found`);
  return current.resource as StoredClient;
}

/**
 * Revokes a client's open Logins, so their tokens fail on the next request (authenticate.ts
 * reads the Login) and stay dead if the client is enabled again. `throughClient`: also the
 * users' sign-ins made through the client, not only its own client_credentials tokens.
 */
async function revokeClientLogins(deps: AuditDeps, tx: Queryable, clientId: string, throughClient: boolean): Promise<void> {
  const serverScope = systemScope(SYSTEM_PROJECT_ID);
  const system = new SystemRepository(deps);
  for (const id of await deps.store.findOpenLoginsOfClient(serverScope, tx, clientId, throughClient)) {
    const current = await deps.store.lockCurrent(serverScope, tx, 'Login', id);
    if (!current || current.deleted || !current.resource || (current.resource as Login).revoked) continue;
    await system.update<Login>(serverScope, { ...(current.resource as Login & { id: string }), revoked: true }, tx);
  }
}

/**
 * Replaces the secret: the old one is refused from the next request on, and the tokens the
 * client obtained for itself (client_credentials, perhaps with a leaked secret) are revoked.
 * Users' sign-ins through the client keep working: their refresh now needs the new secret.
 * Answers the client with the new secret.
 */
export async function rotateClientSecret(deps: AuditDeps, caller: AdminCaller, projectId: string, clientId: string): Promise<StoredClient> {
  return deps.db.transaction(async (tx) => {
    const client = await lockClient(deps, tx, projectId, clientId);
    // `retiringSecret` (Medplum's overlap period) is dropped: the old secret must stop at once.
    const { retiringSecret: _retiring, ...rest } = client;
    const updated = await new SystemRepository(deps).update<ClientApplication>(systemScope(projectId), { ...rest, secret: newClientSecret() }, tx);
    await revokeClientLogins(deps, tx, client.id, false);
    await auditAdminAction(deps, tx, projectId, caller, 'secret-rotate', [{ reference: `ClientApplication/${client.id}` }], `Rotated the secret of client application "${client.name ?? client.id}"`);
    return updated;
  });
}

/**
 * Turns a client off or on again. Off: client_credentials is refused, and every open Login of
 * the client (its own, and users' sign-ins through it) is revoked, so enabling it again does not
 * bring old tokens back. Answers the client without its secret.
 */
export async function setClientStatus(deps: AuditDeps, caller: AdminCaller, projectId: string, clientId: string, status: 'active' | 'off'): Promise<StoredClient> {
  const updated = await deps.db.transaction(async (tx) => {
    const client = await lockClient(deps, tx, projectId, clientId);
    if (client.status === status) return client;
    const saved = await new SystemRepository(deps).update<ClientApplication>(systemScope(projectId), { ...client, status }, tx);
    if (status === 'off') await revokeClientLogins(deps, tx, client.id, true);
    const verb = status === 'off' ? 'Disabled' : 'Enabled';
    await auditAdminAction(deps, tx, projectId, caller, 'client-update', [{ reference: `ClientApplication/${client.id}` }], `${verb} client application "${client.name ?? client.id}"`);
    return saved;
  });
  return withoutSecret(updated);
}

export function withoutSecret(client: StoredClient): StoredClient {
  const { secret: _secret, retiringSecret: _retiring, ...rest } = client;
  return rest;
}
