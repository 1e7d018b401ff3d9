/**
 * Sign-ins in the audit log. A successful one (a token issued for a membership: the
 * authorization-code exchange, client_credentials) is recorded in the grant's own transaction,
 * in the membership's project. A wrong password for an existing account is recorded in every
 * project where that account has an active membership; an unknown email has no project to be
 * recorded in, so nothing is written for it.
 *
 * The failure record is written after the answer, not before: writing it first would make a
 * wrong password for a real account measurably slower than one for an unknown email, which
 * tells an attacker which emails exist (ASVS V6.3.8). The deferred writes of one database run
 * one after another; `settleAuditWrites` waits for them (tests, shutdown).
 * Refresh-token grants and ordinary FHIR requests write nothing here.
 */
import type { Login, ProjectMembership, Reference } from '@medplum/fhirtypes';
import type { Database, Queryable } from '../db/database.js';
import type { ResourceStore } from '../fhir/resource-store.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { recordAuditEvent, type AuditDeps } from './audit-log.js';

export interface SignInRecord {
  login: Login;
  membership: ProjectMembership & { id: string };
  projectId: string;
  clientId?: string;
  /** Where the sign-in came from: the address the password was sent from, else the token request's. */
  remoteAddress?: string;
}

/** Records a successful sign-in inside the transaction that grants it. */
export async function recordSignIn(deps: AuditDeps, tx: Queryable, record: SignInRecord): Promise<void> {
  const { login, membership } = record;
  const who: Reference = membership.user ?? login.user ?? { display: 'unknown' };
  const profile = membership.profile;
  const client = record.clientId ? `ClientApplication/${record.clientId}` : undefined;
  const what: Reference[] = [{ reference: `ProjectMembership/${membership.id}` }];
  if (client && client !== who.reference) what.push({ reference: client });
  const remoteAddress = login.remoteAddress ?? record.remoteAddress;
  await recordAuditEvent(
    deps,
    {
      projectId: record.projectId,
      action: 'login',
      who: { reference: who.reference, ...(who.display ? { display: who.display } : {}) },
      ...(profile && profile.reference !== who.reference ? { onBehalfOf: profile } : {}),
      what,
      outcome: 'success',
      description: `Signed in (${login.authMethod ?? 'unknown method'}${client && client !== who.reference ? ` through ${client}` : ''})`,
      ...(remoteAddress ? { remoteAddress } : {}),
    },
    tx,
  );
}

/**
 * Records a sign-in refused after the password (and TOTP) were right, at the step that would
 * have given the Login its membership: e.g. an address the membership's IP access rules block.
 * Written at once, in the membership's project: the caller already knows the account exists.
 */
export async function recordRefusedSignIn(deps: AuditDeps, record: SignInRecord & { reason: string }): Promise<void> {
  const { login, membership } = record;
  const who: Reference = membership.user ?? login.user ?? { display: 'unknown' };
  await recordAuditEvent(deps, {
    projectId: record.projectId,
    action: 'login-failed',
    who: { reference: who.reference, ...(who.display ? { display: who.display } : {}) },
    ...(membership.profile ? { onBehalfOf: membership.profile } : {}),
    what: [{ reference: `ProjectMembership/${membership.id}` }],
    outcome: 'failure',
    description: `Sign-in refused: ${record.reason}`,
    ...(record.remoteAddress ? { remoteAddress: record.remoteAddress } : {}),
  });
}

const queues = new WeakMap<Database, Promise<void>>();

/** Queues the record of a wrong password for `userId`; returns at once (see the header). */
export function recordFailedSignIn(deps: AuditDeps & { store: ResourceStore }, user: { id: string; email?: string }, remoteAddress?: string): void {
  const recorded = deps.clock.now();
  const write = async (): Promise<void> => {
    const rows = await deps.store.findMembershipsOfUser(systemScope(SYSTEM_PROJECT_ID), `User/${user.id}`);
    const active = rows.filter((r) => r.resource && (r.resource as ProjectMembership).active !== false);
    if (active.length === 0) return;
    await deps.db.transaction(async (tx) => {
      for (const row of active) {
        const membership = row.resource as ProjectMembership & { id: string };
        await recordAuditEvent(
          { ...deps, clock: { now: () => recorded } },
          {
            projectId: row.projectId,
            action: 'login-failed',
            who: { reference: `User/${user.id}`, ...(user.email ? { display: user.email } : {}) },
            ...(membership.profile ? { onBehalfOf: membership.profile } : {}),
            what: [{ reference: `ProjectMembership/${membership.id}` }],
            outcome: 'failure',
            description: 'Sign-in refused: wrong password',
            ...(remoteAddress ? { remoteAddress } : {}),
          },
          tx,
        );
      }
    });
  };
  const next = (queues.get(deps.db) ?? Promise.resolve()).then(write).catch((err: unknown) => {
    // The sign-in has been answered already; a lost record must not take the server down.
    process.emitWarning(`Could not record a failed sign-in in the audit log: ${err instanceof Error ? err.message : String(err)}`);
  });
  queues.set(deps.db, next);
}

/** Resolves once every failed-sign-in record queued so far for `db` is written (or given up). */
export function settleAuditWrites(db: Database): Promise<void> {
  return queues.get(db) ?? Promise.resolve();
}
