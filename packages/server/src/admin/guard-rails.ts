/**
 * Guard rails the user-management guide only warns about ("Do not delete Patient,
 * Practitioner or RelatedPerson resources that belong to ProjectMemberships"), enforced:
 * deleting a profile that an active membership uses is refused with 409 naming the
 * membership, from inside the deleting transaction (Repository.delete), so every way to
 * delete (REST, conditional, batch and transaction entries) passes here. Removing the
 * membership first (DELETE /admin/projects/:projectId/members/:id), or deactivating it, frees
 * the profile. The other guard rails (types only the admin API changes) are in
 * src/fhir/protected-types.ts.
 */
import type { Queryable } from '../db/database.js';
import { outcomeError } from '../fhir/outcomes.js';
import type { ResourceStore } from '../fhir/resource-store.js';
import type { Scope } from '../fhir/scope.js';

/** The types a person's membership uses as its profile. */
const PROFILE_TYPES: ReadonlySet<string> = new Set(['Patient', 'Practitioner', 'RelatedPerson']);

export async function assertProfileNotInUse(store: ResourceStore, scope: Scope, tx: Queryable, resourceType: string, id: string): Promise<void> {
  if (!PROFILE_TYPES.has(resourceType)) {
    return;
  }
  const memberships = await store.findActiveMembershipsByProfile(scope, tx, resourceType, id);
  if (memberships.length > 0) {
    const refs = memberships.map((m) => `ProjectMembership/${m}`);
    throw outcomeError(
      409,
      'conflict',
      `${resourceType}/${id} is the profile of ${refs.join(', ')}; remove or deactivate the membership first`,
      refs,
    );
  }
}
