/**
 * First-run bootstrap: the super-admin project and its first user, from ADMIN_EMAIL and
 * ADMIN_PASSWORD. Idempotent: when a User with that email exists, nothing changes (the
 * password is not reset on restart). Runs in one transaction under an advisory lock, so two
 * instances starting at once create one admin.
 */
import type { User } from '@medplum/fhirtypes';
import { createProjectWithOwner } from './create-project.js';
import type { Database } from '../db/database.js';
import type { Clock, Random } from '../deps.js';
import type { PasswordHasher } from '../auth/passwords.js';
import type { ResourceStore } from '../fhir/resource-store.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';

const BOOTSTRAP_LOCK_KEY = '7608722100002';

export interface SuperAdminDeps {
  db: Database;
  store: ResourceStore;
  clock: Clock;
  random: Random;
  hasher: PasswordHasher;
}

export interface SuperAdminInput {
  email: string;
  password?: string;
  firstName?: string;
  lastName?: string;
  projectName?: string;
}

export interface SuperAdminResult {
  created: boolean;
  userId: string;
  projectId?: string;
  membershipId?: string;
}

export async function ensureSuperAdmin(deps: SuperAdminDeps, input: SuperAdminInput): Promise<SuperAdminResult> {
  const email = input.email.toLowerCase();
  // Hash outside the transaction: it is slow on purpose and needs no lock.
  const passwordHash = input.password ? await deps.hasher.hash(input.password) : undefined;
  const system = new SystemRepository(deps);
  const serverScope = systemScope(SYSTEM_PROJECT_ID);
  return deps.db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
    const existing = await deps.store.findUsersByEmail(serverScope, email, tx);
    if (existing[0]) {
      return { created: false, userId: existing[0].id };
    }
    const firstName = input.firstName ?? 'Super';
    const lastName = input.lastName ?? 'Admin';
    const user = await system.create<User>(
      serverScope,
      { resourceType: 'User', firstName, lastName, email, emailVerified: true, ...(passwordHash ? { passwordHash } : {}) },
      tx,
    );
    const projectId = deps.random.uuid();
    const { membership } = await createProjectWithOwner(system, tx, { projectId, name: input.projectName ?? 'Super Admin', owner: user, superAdmin: true });
    return { created: true, userId: user.id, projectId, membershipId: membership.id };
  });
}
