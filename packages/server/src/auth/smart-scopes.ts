/**
 * SMART App Launch scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
 * parsing v1 (`patient/Observation.read`) and v2 (`user/*.cruds`) resource scopes, and the one
 * check the Repository makes before every FHIR interaction.
 *
 * Scopes only narrow what the membership already allows (its admin rules and its access
 * policies still apply on top). A token with no resource scope at all (`openid profile
 * offline_access`, as MedplumClient asks for) keeps the membership's full access, as Medplum's
 * do.
 *
 * `patient/` scopes narrow further, to the launch patient's compartment (`patientNarrowingOf`,
 * enforced in SQL by the access-policy code: member-policy.ts, policy-sql.ts). The launch
 * patient is the membership's profile when it is a Patient (what the token response reports as
 * `patient`); without one, `patient/` scopes reach nothing. Scopes are a union: an interaction
 * on a type that a `user/` or `system/` scope also grants is not narrowed.
 */
import type { Reference } from '@medplum/fhirtypes';
import type { PatientNarrowing, PolicyInteraction } from '../fhir/access-policy/member-policy.js';
import { forbidden } from '../fhir/outcomes.js';

export type ScopeContext = 'patient' | 'user' | 'system';

/** The interactions SMART v2 names by letter: c, r (read, vread, instance history), u (update, patch), d, s (search, type and system history). */
export type FhirInteraction = 'create' | 'read' | 'update' | 'delete' | 'search';

const LETTERS: ReadonlyArray<readonly [string, FhirInteraction]> = [
  ['c', 'create'],
  ['r', 'read'],
  ['u', 'update'],
  ['d', 'delete'],
  ['s', 'search'],
];

/** SMART v1 permission words and what they mean in v2 letters. */
const V1_PERMISSIONS: Record<string, string> = { read: 'rs', write: 'cud', '*': 'cruds' };

export interface ResourceScope {
  readonly context: ScopeContext;
  /** A resource type, or `*` for every type (including ones the server adds later). */
  readonly resourceType: string;
  readonly interactions: ReadonlySet<FhirInteraction>;
  /** v2 query filter (`?category=...`). Not supported: a filtered scope grants nothing. */
  readonly filter?: string;
  readonly text: string;
}

export interface ParsedScopes {
  /** Well-formed resource scopes. */
  readonly resource: readonly ResourceScope[];
  /** Words that look like resource scopes but are malformed; they grant nothing, and still narrow. */
  readonly malformed: readonly string[];
  /** Every other word (`openid`, `fhirUser`, `offline_access`, `launch/patient`...). */
  readonly other: readonly string[];
}

const RESOURCE_SCOPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]{0,63})\.([a-z*]+)(\?.*)?$/;
const LOOKS_LIKE_RESOURCE_SCOPE = /^(patient|user|system)\//;

/** v2 letters must be a non-empty subsequence of `cruds`, in that order (`.dus` is invalid). */
function parseLetters(text: string): Set<FhirInteraction> | undefined {
  const letters = V1_PERMISSIONS[text] ?? text;
  const granted = new Set<FhirInteraction>();
  let position = 0;
  for (const letter of letters) {
    const index = LETTERS.findIndex(([l], i) => i >= position && l === letter);
    if (index < 0) return undefined;
    granted.add((LETTERS[index] as readonly [string, FhirInteraction])[1]);
    position = index + 1;
  }
  return granted.size > 0 ? granted : undefined;
}

export function parseResourceScope(word: string): ResourceScope | undefined {
  const match = RESOURCE_SCOPE.exec(word);
  if (!match) return undefined;
  const interactions = parseLetters(match[3] as string);
  if (!interactions) return undefined;
  const filter = match[4] ? match[4].slice(1) : undefined;
  return { context: match[1] as ScopeContext, resourceType: match[2] as string, interactions, ...(filter !== undefined ? { filter } : {}), text: word };
}

/** Splits an OAuth scope string (RFC 6749 section 3.3: space-separated, case-sensitive). */
export function parseScopes(scope: string | undefined): ParsedScopes {
  const resource: ResourceScope[] = [];
  const malformed: string[] = [];
  const other: string[] = [];
  for (const word of (scope ?? '').split(' ').filter((w) => w.length > 0)) {
    const parsed = parseResourceScope(word);
    if (parsed) resource.push(parsed);
    else if (LOOKS_LIKE_RESOURCE_SCOPE.test(word)) malformed.push(word);
    else other.push(word);
  }
  return { resource, malformed, other };
}

/** True when the scopes restrict FHIR access at all (at least one resource scope, well-formed or not). */
export function narrowsAccess(scopes: ParsedScopes): boolean {
  return scopes.resource.length > 0 || scopes.malformed.length > 0;
}

/**
 * Whether the scopes allow an interaction on a type. `resourceType` `*` asks about every type
 * at once (system history), which only a wildcard scope grants.
 */
export function scopesAllow(scopes: ParsedScopes, resourceType: string, interaction: FhirInteraction): boolean {
  if (!narrowsAccess(scopes)) return true;
  return scopes.resource.some(
    (s) => s.filter === undefined && (s.resourceType === '*' || s.resourceType === resourceType) && s.interactions.has(interaction),
  );
}

/** The Repository's check: a 403 OperationOutcome when the token's scopes do not grant the interaction. */
export function assertScopesAllow(ctx: { readonly scopes?: ParsedScopes }, resourceType: string, interaction: FhirInteraction): void {
  if (ctx.scopes && !scopesAllow(ctx.scopes, resourceType, interaction)) {
    const what = resourceType === '*' ? 'every resource type' : resourceType;
    throw forbidden(`The token's scopes do not allow ${interaction} on ${what}`);
  }
}

/** How the type rules (protected-types.ts) see an interaction. */
export function accessKind(interaction: FhirInteraction): 'read' | 'write' {
  return interaction === 'read' || interaction === 'search' ? 'read' : 'write';
}

/**
 * The SMART letters a policy interaction needs: vread is `r`; history is `r` for an instance and
 * `s` for a type or the system, and the policy names them alike, so it needs both to be wide.
 */
const POLICY_TO_SCOPE: Record<PolicyInteraction, readonly FhirInteraction[]> = {
  create: ['create'],
  read: ['read'],
  vread: ['read'],
  update: ['update'],
  delete: ['delete'],
  search: ['search'],
  history: ['read', 'search'],
};

/**
 * What the token's `patient/` scopes narrow to the launch patient's compartment: undefined when
 * it has none (no extra SQL anywhere). An interaction is narrowed unless a `user/` or `system/`
 * scope grants it on the type (the union of scopes); one that no scope grants is narrowed too,
 * on top of the 403 `assertScopesAllow` gives, so a path that skips that check still reaches
 * only the compartment.
 */
export function patientNarrowingOf(scopes: ParsedScopes | undefined, profile: Reference | undefined): PatientNarrowing | undefined {
  if (!scopes?.resource.some((s) => s.context === 'patient')) {
    return undefined;
  }
  const wide = scopes.resource.filter((s) => s.context !== 'patient' && s.filter === undefined);
  const grantsWide = (resourceType: string, interaction: FhirInteraction): boolean =>
    wide.some((s) => (s.resourceType === '*' || s.resourceType === resourceType) && s.interactions.has(interaction));
  const reference = profile?.reference ?? '';
  const patientId = reference.startsWith('Patient/') ? reference.slice('Patient/'.length) : undefined;
  return {
    ...(patientId ? { patientId } : {}),
    narrows: (resourceType, interaction) => !POLICY_TO_SCOPE[interaction].every((i) => grantsWide(resourceType, i)),
  };
}
