/**
 * Which resource types a member may touch through the FHIR API at all, before any access
 * policy: the server's own types are never reachable, and the identity and configuration
 * types only by a project admin. Also the fields that never leave the server.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { RequestContext } from '../auth/request-context.js';
import { forbidden } from './outcomes.js';

/** The server's alone: no FHIR request reads or writes them, an admin's included. */
export const SERVER_ONLY: ReadonlySet<string> = new Set(['Login', 'JsonWebKey', 'UserSecurityRequest', 'DomainConfiguration']);

/**
 * Readable and writable by project admins only (security-notes, design rule 5). AuditEvent too:
 * the audit log names who signed in from where, which is the admins' to read.
 */
export const ADMIN_ONLY: ReadonlySet<string> = new Set(['Project', 'ProjectMembership', 'User', 'AccessPolicy', 'ClientApplication', 'Bot', 'Subscription', 'AuditEvent']);

/** Written by the server alone (src/audit/): nobody, a super admin included, creates, changes or deletes them through FHIR. */
const SERVER_WRITES = new Set(['AuditEvent']);

/** Admins read these through FHIR but change them through `/admin` (invite, members), which keeps their rules. */
const ADMIN_API_WRITES = new Set(['Project', 'ProjectMembership', 'User']);

export type Interaction = 'read' | 'write';

export function assertTypeAllowed(ctx: RequestContext, resourceType: string, interaction: Interaction): void {
  if (SERVER_ONLY.has(resourceType)) {
    throw forbidden(`${resourceType} is managed by the server and cannot be accessed through the FHIR API`);
  }
  if (interaction === 'write' && SERVER_WRITES.has(resourceType)) {
    throw forbidden(`${resourceType} is written by the server only; the audit log cannot be changed through the FHIR API`);
  }
  if (ctx.superAdmin) {
    return;
  }
  if (ADMIN_ONLY.has(resourceType) && !ctx.admin) {
    throw forbidden(`Only project admins can access ${resourceType}`);
  }
  if (interaction === 'write' && ADMIN_API_WRITES.has(resourceType)) {
    throw forbidden(`${resourceType} is changed through the admin API, not the FHIR API`);
  }
}

/** The types this caller may not read, for queries that span types (system history). */
export function unreadableTypes(ctx: RequestContext): string[] {
  const types = [...SERVER_ONLY];
  if (!ctx.superAdmin && !ctx.admin) {
    types.push(...ADMIN_ONLY);
  }
  return types;
}

/** Secrets that are stored but never returned, whoever asks (Medplum hides them from admins too). */
const SECRET_FIELDS: Record<string, readonly string[]> = {
  User: ['passwordHash', 'mfaSecret'],
};

/**
 * Write-only through FHIR: never returned, but an admin may set them; a write without them
 * keeps the stored value (a client never sees it, so a read-modify-write must not erase it).
 * The client secret is shown once, by the admin API that makes or rotates it (src/admin/clients.ts).
 */
const WRITE_ONLY_FIELDS: Record<string, readonly string[]> = {
  ClientApplication: ['secret'],
};

export function redactSecrets<T extends Resource>(resource: T): T {
  const fields = [...(SECRET_FIELDS[resource.resourceType] ?? []), ...(WRITE_ONLY_FIELDS[resource.resourceType] ?? [])];
  if (fields.length === 0) {
    return resource;
  }
  const copy: Record<string, unknown> = { ...resource };
  for (const f of fields) {
    delete copy[f];
  }
  return copy as T;
}

/** Keeps the stored value of secret fields on write: a client never sees them, so it cannot send them back. */
export function keepSecrets<T extends Resource>(incoming: T, stored: Resource | undefined): T {
  const fields = SECRET_FIELDS[incoming.resourceType];
  const writeOnly = WRITE_ONLY_FIELDS[incoming.resourceType];
  if (!fields && !writeOnly) {
    return incoming;
  }
  const copy: Record<string, unknown> = { ...incoming };
  for (const f of writeOnly ?? []) {
    const before = stored ? (stored as unknown as Record<string, unknown>)[f] : undefined;
    if (copy[f] === undefined && before !== undefined) {
      copy[f] = before;
    }
  }
  for (const f of fields ?? []) {
    const before = stored ? (stored as unknown as Record<string, unknown>)[f] : undefined;
    if (before === undefined) {
      delete copy[f];
    } else {
      copy[f] = before;
    }
  }
  return copy as T;
}
