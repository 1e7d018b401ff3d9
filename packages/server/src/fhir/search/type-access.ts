/**
 * Which resource types a search may reach besides the one searched: chains, `_has`, includes,
 * compartments and `$everything` cross into other types, and must never reach one the caller
 * could not search directly (src/fhir/protected-types.ts, and the token's SMART scopes). The
 * Repository passes the caller's list; a parser called without one gets a non-admin member's,
 * so forgetting it denies rather than allows.
 */
import type { RequestContext } from '../../auth/request-context.js';
import { scopesAllow } from '../../auth/smart-scopes.js';
import { knownResourceTypes } from '../definitions.js';
import { outcomeError } from '../outcomes.js';
import { unreadableTypes } from '../protected-types.js';
import { typesOutsidePolicy } from '../access-policy/policy-sql.js';

/** What a member who is not an admin may not read: the safe default. */
export const MEMBER_UNREADABLE: readonly string[] = unreadableTypes({ admin: false, superAdmin: false } as RequestContext);

/** A type named explicitly in a parameter (`_has:Type`, `subject:Type.x`, `_revinclude=Type:p`): 403, as a search on it would be. */
export function assertReadable(unreadable: readonly string[], type: string, name: string): void {
  if (unreadable.includes(type)) {
    throw outcomeError(403, 'forbidden', `${name}: this caller may not read ${type}`, name);
  }
}

/**
 * The types a search by this caller may not reach: the protected types (protected-types.ts),
 * the types its access policy grants no search on, and, when the token carries SMART
 * resource scopes, every type they do not grant search on.
 */
export function unreadableInSearch(ctx: RequestContext): string[] {
  const denied = new Set([...unreadableTypes(ctx), ...typesOutsidePolicy(ctx, 'search')]);
  if (ctx.scopes) {
    for (const type of knownResourceTypes()) {
      if (!scopesAllow(ctx.scopes, type, 'search')) {
        denied.add(type);
      }
    }
  }
  return [...denied];
}
