/**
 * History versions under a policy. The search index describes only a resource's current
 * version, so an old version cannot be checked in SQL. The rule (docs/SECURITY.md):
 *   a version is returned when the resource's CURRENT version is reachable (checked in the
 *   history query, in SQL, with the same predicate as a search), AND the version's own content
 *   satisfies the plain filters of some entry granting the interaction, evaluated in memory by
 *   `@medplum/core`'s `matchesSearchRequest`. Chains and `_has` in criteria speak about other
 *   resources, whose current state is what exists: they are checked on the current version only.
 * A version recording a delete has no content: it is returned when the current version is
 * reachable (a resource deleted for good is not, for a member whose entries have criteria).
 */
import { matchesSearchRequest, parseSearchRequest as parseMedplumSearch } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { typeAccess, versionInCompartments, type PolicyCriteria, type PolicyHolder, type PolicyInteraction } from './member-policy.js';

function matchesFilters(resource: Resource, criteria: PolicyCriteria): boolean {
  if (criteria.filters.length === 0) return true;
  const query: Record<string, string[]> = {};
  for (const f of criteria.filters) {
    (query[f.name] ??= []).push(f.values.join(','));
  }
  return matchesSearchRequest(resource, parseMedplumSearch(criteria.resourceType, query));
}

/** Whether the holder may see this version's content for `interaction` (history or vread). */
export function versionAllowed(holder: PolicyHolder, resourceType: string, resource: Resource | undefined, interaction: PolicyInteraction): boolean {
  const access = typeAccess(holder, resourceType, interaction);
  if (access.kind !== 'some') return access.kind === 'all';
  if (!resource) return true;
  // The version's own content must also be in the entry's compartment (policy or launch patient).
  return access.entries.some((e) => (!e.criteria || matchesFilters(resource, e.criteria)) && versionInCompartments(e, resource));
}
