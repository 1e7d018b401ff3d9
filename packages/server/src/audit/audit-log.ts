/**
 * The audit log: every admin action (invite, member change, removal, restore, secret
 * rotation) and every sign-in, successful or not, becomes an `AuditEvent` in the project it
 * concerns (https://hl7.org/fhir/R4/auditevent.html), written by the server in the same
 * transaction as the action it records, so an action is never without its record. Admins
 * search them through `/fhir/R4/AuditEvent`; the agent is a reference to the User, client or
 * bot, which stays valid after the membership is removed, so past actions stay attributable.
 */
import type { AuditEvent, AuditEventAgent, Reference } from '@medplum/fhirtypes';
import type { Queryable } from '../db/database.js';
import { systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import type { WriteDeps } from '../fhir/write-resource.js';
import type { Database } from '../db/database.js';

/** Our subtype codes; the `system` of every `AuditEvent.subtype` we write. */
export const AUDIT_SUBTYPE_SYSTEM = 'https://tessera.dev/fhir/CodeSystem/audit-action';

export type AuditAction =
  | 'invite'
  | 'invite-resend'
  | 'member-update'
  | 'member-remove'
  | 'member-restore'
  | 'client-create'
  | 'client-update'
  | 'secret-rotate'
  | 'bot-create'
  | 'login'
  | 'login-failed';

/** The FHIR action code (C/R/U/D/E) of each of ours. */
const CRUDE: Record<AuditAction, NonNullable<AuditEvent['action']>> = {
  invite: 'C',
  'invite-resend': 'E',
  'member-update': 'U',
  'member-remove': 'D',
  'member-restore': 'U',
  'client-create': 'C',
  'client-update': 'U',
  'secret-rotate': 'U',
  'bot-create': 'C',
  login: 'E',
  'login-failed': 'E',
};

export interface AuditEntry {
  /** The project the event belongs to (and is readable in). */
  projectId: string;
  action: AuditAction;
  /** Who acted: the User, ClientApplication or Bot (not the membership, which can be removed). */
  who: Reference;
  /** The acting membership's profile, when there is one. */
  onBehalfOf?: Reference;
  /** The resources acted on (membership, profile, user, client...). */
  what?: Reference[];
  /** `success` (0), `failure` (4: the caller's fault, e.g. a wrong password). */
  outcome?: 'success' | 'failure';
  /** Words an admin reads in the audit log. */
  description?: string;
  remoteAddress?: string;
}

export type AuditDeps = WriteDeps & { db: Database };

/** Writes one AuditEvent, inside `tx` when given (the action's own transaction). */
export async function recordAuditEvent(deps: AuditDeps, entry: AuditEntry, tx?: Queryable): Promise<AuditEvent & { id: string }> {
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: AUDIT_SUBTYPE_SYSTEM, code: entry.action }],
    action: CRUDE[entry.action],
    recorded: deps.clock.now().toISOString(),
    outcome: entry.outcome === 'failure' ? '4' : '0',
    ...(entry.description ? { outcomeDesc: entry.description } : {}),
    agent: [
      {
        // A User, ClientApplication or Bot: Medplum's types, beyond the R4 list of targets.
        who: entry.who as AuditEventAgent['who'],
        requestor: true,
        ...(entry.onBehalfOf ? { extension: [{ url: 'https://tessera.dev/fhir/StructureDefinition/audit-on-behalf-of', valueReference: entry.onBehalfOf }] } : {}),
        ...(entry.remoteAddress ? { network: { address: entry.remoteAddress, type: '2' as const } } : {}),
      },
    ],
    source: { observer: { display: 'Tessera' } },
    ...(entry.what && entry.what.length > 0 ? { entity: entry.what.map((what) => ({ what })) } : {}),
  };
  return new SystemRepository(deps).create(systemScope(entry.projectId), event, tx);
}
