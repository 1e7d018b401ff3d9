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
 *
 * Two things narrow an entry to a Patient compartment, both ANDed with its criteria in SQL:
 * the policy's `compartment` (docs/SECURITY.md, "Access policies") and a token's SMART
 * `patient/` scopes (`PatientNarrowing`, "SMART scopes"). Either makes `typeAccess` answer
 * `some`, so every path that asks it (reads, searches, includes, history, writes) applies them.
 */
import type { Reference, Resource } from '@medplum/fhirtypes';
import type { LinkedFilter } from '../search/parse-chain.js';
import type { SearchFilter } from '../search/parse.js';
import { ADMIN_ONLY, SERVER_ONLY } from '../protected-types.js';
import { patientCompartment, patientIdOf, resourceInPatientCompartment } from '../search/compartment.js';

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
  /**
   * Set by `typeAccess` only, never stored: the launch patient of a token whose `patient/`
   * scopes narrow this interaction (SMART). A second compartment, ANDed with the first.
   */
  launchPatient?: string;
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

/**
 * What a token's SMART `patient/` scopes narrow (built by smart-scopes.ts from the token and
 * the membership): an interaction on a type that no `user/` or `system/` scope grants reaches
 * only the launch patient's compartment.
 */
export interface PatientNarrowing {
  /** The launch patient's id; absent when the membership has none, and then narrowed interactions reach nothing. */
  readonly patientId?: string;
  narrows(resourceType: string, interaction: PolicyInteraction): boolean;
}

/** Who the policy applies to: project admins keep the admin-only types outside any policy. */
export interface PolicyHolder {
  readonly admin: boolean;
  readonly superAdmin: boolean;
  readonly policy?: MemberPolicy;
  /** Absent: the token has no `patient/` scope (no extra SQL, as before). */
  readonly patientNarrowing?: PatientNarrowing;
}

/** Whether an entry speaks about `resourceType`: by name, or as `*` for a type no policy may grant. */
function entryCovers(entry: PolicyEntry, resourceType: string): boolean {
  if (entry.resourceType === resourceType) {
    return !SERVER_ONLY.has(resourceType) && !ADMIN_ONLY.has(resourceType);
  }
  return entry.resourceType === '*' && !SERVER_ONLY.has(resourceType) && !ADMIN_ONLY.has(resourceType);
}

/**
 * Whether an entry's compartment can hold a resource of the type: none set, or a Patient
 * reference and a type in the Patient compartment. Any other compartment (an Organization's, a
 * placeholder that named no Patient) grants nothing: fail closed.
 */
function compartmentAdmits(entry: PolicyEntry, resourceType: string): boolean {
  if (!entry.compartment) return true;
  return patientIdOf(entry.compartment.reference) !== undefined && patientCompartment().has(resourceType);
}

/** The entries granting `interaction` on `resourceType`. */
export function entriesFor(policy: MemberPolicy, resourceType: string, interaction: PolicyInteraction): PolicyEntry[] {
  return policy.entries.filter((e) => entryCovers(e, resourceType) && e.interactions.has(interaction) && compartmentAdmits(e, resourceType));
}

/** What the token's `patient/` scopes leave of `access`: the same entries, each also limited to the launch patient's compartment. */
function narrowToPatient(access: TypeAccess, narrowing: PatientNarrowing, resourceType: string, interaction: PolicyInteraction): TypeAccess {
  const patientId = narrowing.patientId;
  if (access.kind === 'none' || patientId === undefined || !patientCompartment().has(resourceType)) {
    return { kind: 'none' };
  }
  // No entry (no policy, a super admin, an admin-only type): the whole type, narrowed.
  const entries: PolicyEntry[] = access.entries.length > 0 ? access.entries : [scopeEntry(resourceType, interaction)];
  return { kind: 'some', entries: entries.map((e) => ({ ...e, launchPatient: patientId })) };
}

/** The entry standing for "every resource of the type" when no policy entry does. */
function scopeEntry(resourceType: string, interaction: PolicyInteraction): PolicyEntry {
  return { policy: { display: "the token's SMART patient/ scopes" }, index: -1, resourceType, interactions: new Set([interaction]), hiddenFields: [], readonlyFields: [], writeConstraints: [] };
}

/**
 * What `interaction` on `resourceType` reaches for this holder. Admin-only types are a
 * project admin's by role (protected-types.ts) and never a policy's to grant or narrow; a
 * token's `patient/` scopes narrow everything, admins' and super admins' too (scopes only narrow).
 */
export function typeAccess(holder: PolicyHolder, resourceType: string, interaction: PolicyInteraction): TypeAccess {
  const access = policyAccess(holder, resourceType, interaction);
  const narrowing = holder.patientNarrowing;
  return narrowing?.narrows(resourceType, interaction) ? narrowToPatient(access, narrowing, resourceType, interaction) : access;
}

function policyAccess(holder: PolicyHolder, resourceType: string, interaction: PolicyInteraction): TypeAccess {
  if (!holder.policy || holder.superAdmin || (holder.admin && ADMIN_ONLY.has(resourceType))) {
    return { kind: 'all', entries: [] };
  }
  const entries = entriesFor(holder.policy, resourceType, interaction);
  if (entries.length === 0) {
    return { kind: 'none' };
  }
  // A compartment limits an entry as criteria do.
  return entries.some((e) => !e.criteria && !e.compartment) ? { kind: 'all', entries } : { kind: 'some', entries };
}

/** Every entry that speaks about the type, whatever it grants: where hidden and readonly fields come from. */
export function entriesOfType(holder: PolicyHolder, resourceType: string): PolicyEntry[] {
  if (!holder.policy || holder.superAdmin || (holder.admin && ADMIN_ONLY.has(resourceType))) {
    return [];
  }
  return holder.policy.entries.filter((e) => entryCovers(e, resourceType));
}

/**
 * Whether a resource's own content (a history version) lies in the entry's compartments, the
 * policy's and the launch patient's. SQL checks a resource's current version only; an old
 * version may have belonged to another patient (match-version.ts checks it with this).
 */
export function versionInCompartments(entry: PolicyEntry, resource: Resource): boolean {
  if (entry.compartment) {
    const patientId = patientIdOf(entry.compartment.reference);
    if (patientId === undefined || !resourceInPatientCompartment(resource, patientId)) return false;
  }
  return entry.launchPatient === undefined || resourceInPatientCompartment(resource, entry.launchPatient);
}
