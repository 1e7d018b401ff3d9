/**
 * A member's effective access policy: the `resource[]` entries of every AccessPolicy its
 * ProjectMembership names (`accessPolicy`, `access[].policy`), added up (a union), each with
 * its criteria already parsed by the search parser (src/fhir/search/parse.ts) and its
 * parameters substituted into the parsed values. Built once per request by `authenticate`
 * (load-policy.ts); `undefined` on a RequestContext means "no policy": full access to the
 * types the member's role allows (see docs/SECURITY.md, "Access policies").
 *
 * What an entry grants is decided here; how it is enforced is in policy-sql.ts (the SQL
 * predicate every query gets), fields.ts (hidden and readonly fields) and match-version.ts
 * (history versions, checked in memory).
 */
import type { Reference } from '@medplum/fhirtypes';
import type { LinkedFilter } from '../search/parse-chain.js';
import type { SearchFilter } from '../search/parse.js';
import { ADMIN_ONLY, SERVER_ONLY } from '../protected-types.js';

/** The interactions an entry may grant (AccessPolicy.resource.interaction). */
export type PolicyInteraction = 'create' | 'read' | 'vread' | 'update' | 'delete' | 'search' | 'history';

export const ALL_INTERACTIONS: readonly PolicyInteraction[] = ['create', 'read', 'vread', 'update', 'delete', 'search', 'history'];
/** What a `readonly` entry (or one whose interaction list names no write) grants. */
export const READ_INTERACTIONS: readonly PolicyInteraction[] = ['read', 'vread', 'search', 'history'];

/** An entry's criteria, parsed and with every `%parameter` replaced by the member's value. */
export interface PolicyCriteria {
  resourceType: string;
  filters: SearchFilter[];
  linked: LinkedFilter[];
}

export interface PolicyEntry {
  /** The AccessPolicy the entry comes from, and its index in that policy's `resource[]`. */
  policy: Reference;
  index: number;
  /** A type, or `*` for every type the member's role may reach. */
  resourceType: string;
  /** Absent: every resource of the type. */
  criteria?: PolicyCriteria;
  interactions: ReadonlySet<PolicyInteraction>;
  hiddenFields: readonly string[];
  readonlyFields: readonly string[];
  /**
   * `writeConstraint[].expression`: FHIRPath expressions, each of which must be true of a
   * write this entry allows (`%before` the stored resource or empty on create, `%after` the
   * new one; the resource itself is the context). Enforced by write-constraint.ts.
   */
  writeConstraints: readonly string[];
  /**
   * The compartment this entry is limited to: the entry's own (deprecated) `compartment`, or its
   * policy's `compartment`, with parameters substituted (`%patient` -> `Patient/123`).
   * Enforced in SQL with the entry's criteria (policy-sql.ts).
   */
  compartment?: Reference;
}

/** `AccessPolicy.ipAccessRule[]`: the first rule whose value matches the client's address decides. */
export interface IpAccessRule {
  /** The AccessPolicy the rule comes from. */
  policy: Reference;
  name?: string;
  /** An address, a prefix of one, or `*`. */
  value: string;
  action: 'allow' | 'block';
}

export interface MemberPolicy {
  entries: readonly PolicyEntry[];
  /** Every policy's rules, in the membership's order (Medplum concatenates them). */
  ipAccessRules: readonly IpAccessRule[];
}

/** How much of a type an interaction reaches: all of it, none, or what some entries' criteria select. */
export type TypeAccess = { kind: 'all'; entries: PolicyEntry[] } | { kind: 'none' } | { kind: 'some'; entries: PolicyEntry[] };

/** Who the policy applies to: project admins keep the admin-only types outside any policy. */
export interface PolicyHolder {
  readonly admin: boolean;
  readonly superAdmin: boolean;
  readonly policy?: MemberPolicy;
}

/** Whether an entry speaks about `resourceType`: by name, or as `*` for a type no policy may grant. */
function entryCovers(entry: PolicyEntry, resourceType: string): boolean {
  if (entry.resourceType === resourceType) {
    return !SERVER_ONLY.has(resourceType) && !ADMIN_ONLY.has(resourceType);
  }
  return entry.resourceType === '*' && !SERVER_ONLY.has(resourceType) && !ADMIN_ONLY.has(resourceType);
}

/** The entries granting `interaction` on `resourceType`. */
export function entriesFor(policy: MemberPolicy, resourceType: string, interaction: PolicyInteraction): PolicyEntry[] {
  return policy.entries.filter((e) => entryCovers(e, resourceType) && e.interactions.has(interaction));
}

/**
 * What `interaction` on `resourceType` reaches for this holder. Admin-only types are a
 * project admin's by role (protected-types.ts) and never a policy's to grant or narrow.
 */
export function typeAccess(holder: PolicyHolder, resourceType: string, interaction: PolicyInteraction): TypeAccess {
  if (!holder.policy || holder.superAdmin || (holder.admin && ADMIN_ONLY.has(resourceType))) {
    return { kind: 'all', entries: [] };
  }
  const entries = entriesFor(holder.policy, resourceType, interaction);
  if (entries.length === 0) {
    return { kind: 'none' };
  }
  return entries.some((e) => !e.criteria) ? { kind: 'all', entries } : { kind: 'some', entries };
}

/** Every entry that speaks about the type, whatever it grants: where hidden and readonly fields come from. */
export function entriesOfType(holder: PolicyHolder, resourceType: string): PolicyEntry[] {
  if (!holder.policy || holder.superAdmin || (holder.admin && ADMIN_ONLY.has(resourceType))) {
    return [];
  }
  return holder.policy.entries.filter((e) => entryCovers(e, resourceType));
}
