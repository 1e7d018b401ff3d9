/**
 * Builds a member's effective policy (member-policy.ts) from its ProjectMembership and the
 * AccessPolicy resources it names, which `authenticate` fetches in its one query.
 *
 * Criteria are parsed once per policy version (a small cache keyed by project, id and
 * versionId, so an edited policy is parsed again and an old parse is never used), with the
 * `%placeholders` left in the parsed values. Each request then substitutes its member's values
 * into those parsed values, escaped (src/fhir/search/escaping.ts), so a parameter's value can
 * only ever be one value of the parameter the policy author wrote: it cannot add an
 * alternative (`,`), a system (`|`) or a parameter. Nothing is substituted into text.
 *
 * An entry whose placeholder the membership does not provide grants nothing (fail closed);
 * save-time validation (validate-policy.ts) tells the admin before that happens.
 */
import type { AccessPolicy, AccessPolicyResource, ProjectMembership, Reference } from '@medplum/fhirtypes';
import type { Criterion } from '../search/parse-chain.js';
import { parseSearchRequest, type SearchFilter } from '../search/parse.js';
import { SERVER_ONLY } from '../protected-types.js';
import { ALL_INTERACTIONS, READ_INTERACTIONS, type IpAccessRule, type MemberPolicy, type PolicyCriteria, type PolicyEntry, type PolicyInteraction } from './member-policy.js';

/** An entry as parsed from the stored policy, placeholders still in. */
interface ParsedEntry extends Omit<PolicyEntry, 'policy' | 'criteria' | 'compartment'> {
  criteria?: PolicyCriteria;
  /** The compartment reference as written (`%patient`), substituted per member. */
  compartment?: string;
}

const PLACEHOLDER = /%([A-Za-z][A-Za-z0-9_-]*(?:\.id)?)/g;
const CACHE_LIMIT = 1000;
const parsedCache = new Map<string, ParsedEntry[]>();

/**
 * Splits `Observation?subject=%patient` into its type and its query's (name, value) pairs.
 * Placeholders are taken out before URL decoding, which would read `%ca` of `%cat` as a
 * byte: as in Medplum, `%` and a letter start a placeholder, so a percent-escape in criteria
 * must start with a digit (`%2C`); non-ASCII text can be written as is.
 */
export function splitCriteria(text: string): { resourceType: string; entries: Array<[string, string]> } {
  const q = text.indexOf('?');
  const resourceType = (q < 0 ? text : text.slice(0, q)).trim();
  if (q < 0) {
    return { resourceType, entries: [] };
  }
  const hidden = text.slice(q + 1).replace(PLACEHOLDER, (_m, name: string) => `\u0001${name}\u0002`);
  const restore = (s: string): string => s.replace(/\u0001([^\u0002]*)\u0002/g, '%$1');
  const entries = [...new URLSearchParams(hidden)].map(([n, v]) => [restore(n), restore(v)] as [string, string]);
  return { resourceType, entries };
}

/** Parses an entry's criteria for its type; throws the parser's OutcomeError on anything it refuses. */
export function parseCriteria(resourceType: string, text: string): PolicyCriteria {
  const split = splitCriteria(text);
  const request = parseSearchRequest(resourceType, split.entries, false, [...SERVER_ONLY]);
  return { resourceType, filters: request.filters, linked: request.linked };
}

/** What an entry grants: its `interaction` list, or every interaction, or only reads when `readonly`. */
export function entryInteractions(entry: AccessPolicyResource): Set<PolicyInteraction> {
  // A list grants what it names and nothing else (a name this server does not know grants nothing).
  const raw = entry.interaction as string[] | undefined;
  const base = raw && raw.length > 0 ? raw.filter((i): i is PolicyInteraction => (ALL_INTERACTIONS as readonly string[]).includes(i)) : ALL_INTERACTIONS;
  return new Set(entry.readonly ? base.filter((i) => READ_INTERACTIONS.includes(i)) : base);
}

function parsePolicy(policy: AccessPolicy): ParsedEntry[] {
  const entries: ParsedEntry[] = [];
  (policy.resource ?? []).forEach((entry, index) => {
    if (!entry.resourceType) return;
    // The entry's own (deprecated) compartment, else the policy's.
    const compartment = entry.compartment?.reference ?? policy.compartment?.reference;
    let criteria: PolicyCriteria | undefined;
    if (entry.criteria) {
      try {
        criteria = parseCriteria(entry.resourceType, entry.criteria);
      } catch {
        return; // A policy saved before validation, or by the server: a broken entry grants nothing.
      }
      if (entry.resourceType === '*' && (criteria.filters.length > 0 || criteria.linked.length > 0)) return;
    }
    entries.push({
      index,
      resourceType: entry.resourceType,
      ...(criteria && (criteria.filters.length > 0 || criteria.linked.length > 0) ? { criteria } : {}),
      interactions: entryInteractions(entry),
      hiddenFields: entry.hiddenFields ?? [],
      readonlyFields: entry.readonlyFields ?? [],
      // A constraint without an expression is kept as '' (which does not parse): that entry allows no write.
      writeConstraints: (entry.writeConstraint ?? []).map((c) => c.expression ?? ''),
      ...(compartment ? { compartment } : {}),
    });
  });
  return entries;
}

function cachedParse(projectId: string, policy: AccessPolicy & { id: string }): ParsedEntry[] {
  const key = `${projectId}/${policy.id}/${policy.meta?.versionId ?? ''}`;
  let parsed = parsedCache.get(key);
  if (!parsed) {
    parsed = parsePolicy(policy);
    if (parsedCache.size >= CACHE_LIMIT) parsedCache.clear();
    parsedCache.set(key, parsed);
  }
  return parsed;
}

/** The AccessPolicy ids a membership names, in order: `accessPolicy` first, then `access[].policy`. */
export function policyIdsOf(membership: ProjectMembership): string[] {
  const refs = [membership.accessPolicy, ...(membership.access ?? []).map((a) => a.policy)];
  return refs.flatMap((r) => (r?.reference?.startsWith('AccessPolicy/') ? [r.reference.slice('AccessPolicy/'.length)] : []));
}

/**
 * The values `%name` stands for, for one access entry: the membership's profile, the patient
 * (the profile when it is a Patient, else the `patient` parameter), and the entry's own
 * parameters (a reference's `%name.id` is its id).
 */
export function parameterValues(membership: ProjectMembership, parameters: NonNullable<ProjectMembership['access']>[number]['parameter'] = []): Map<string, string> {
  const values = new Map<string, string>();
  const setRef = (name: string, ref: Reference | undefined): void => {
    const text = ref?.reference;
    if (!text) return;
    values.set(name, text);
    values.set(`${name}.id`, text.slice(text.lastIndexOf('/') + 1));
  };
  setRef('profile', membership.profile);
  if (membership.profile?.reference?.startsWith('Patient/')) setRef('patient', membership.profile);
  for (const p of parameters ?? []) {
    if (!p.name) continue;
    if (p.valueReference) setRef(p.name, p.valueReference);
    else if (p.valueString !== undefined) values.set(p.name, p.valueString);
  }
  return values;
}

/** The placeholders (`patient`, `patient.id`, `org`) a text uses. */
export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
}

/** `,` `|` `$` `\` escaped (https://hl7.org/fhir/R4/search.html#escaping): a value stays one value. */
function escapeValue(value: string): string {
  return value.replace(/[\\,|$]/g, (c) => `\\${c}`);
}

class MissingParameter extends Error {}

function substituteValue(value: string, values: ReadonlyMap<string, string>): string {
  return value.replace(PLACEHOLDER, (_m, name: string) => {
    const found = values.get(name);
    if (found === undefined) throw new MissingParameter(name);
    return escapeValue(found);
  });
}

/** A reference as written in a policy (`%patient`, `Patient/%patient.id`), substituted; undefined when a parameter is missing. */
function substituteReference(text: string, values: ReadonlyMap<string, string>): string | undefined {
  try {
    return text.replace(PLACEHOLDER, (_m, name: string) => {
      const found = values.get(name);
      if (found === undefined) throw new MissingParameter(name);
      return found;
    });
  } catch (err) {
    if (err instanceof MissingParameter) return undefined;
    throw err;
  }
}

function substituteFilter(filter: SearchFilter, values: ReadonlyMap<string, string>): SearchFilter {
  return { ...filter, values: filter.values.map((v) => substituteValue(v, values)) };
}

function substituteCriterion(criterion: Criterion, values: ReadonlyMap<string, string>): Criterion {
  if (!('kind' in criterion)) return substituteFilter(criterion, values);
  if (criterion.kind === 'has') return { ...criterion, criterion: substituteCriterion(criterion.criterion, values) };
  return { ...criterion, targets: criterion.targets.map((t) => ({ type: t.type, criterion: substituteCriterion(t.criterion, values) })) };
}

export function substitute(criteria: PolicyCriteria, values: ReadonlyMap<string, string>): PolicyCriteria | undefined {
  try {
    return {
      resourceType: criteria.resourceType,
      filters: criteria.filters.map((f) => substituteFilter(f, values)),
      linked: criteria.linked.map((l) => substituteCriterion(l, values) as PolicyCriteria['linked'][number]),
    };
  } catch (err) {
    if (err instanceof MissingParameter) return undefined;
    throw err;
  }
}

/**
 * What a membership without a policy may reach, as a policy: every interaction on every type a
 * `*` entry covers (the admin-only types stay an admin's by role, see member-policy.ts). Used
 * where "no policy" must still be narrowed (a token's `patient/` scopes, authenticate.ts).
 */
export const FULL_ACCESS_POLICY: MemberPolicy = {
  entries: [
    {
      policy: { display: 'No access policy: full access to the types the role allows' },
      index: 0,
      resourceType: '*',
      interactions: new Set(ALL_INTERACTIONS),
      hiddenFields: [],
      readonlyFields: [],
      writeConstraints: [],
    },
  ],
  ipAccessRules: [],
};

/**
 * The effective policy of a membership, or undefined when it names none (the documented
 * default: full access to the types its role allows). `policies` are the AccessPolicy
 * resources found; one the membership names that is missing (deleted) contributes nothing.
 */
export function buildMemberPolicy(projectId: string, membership: ProjectMembership, policies: ReadonlyArray<AccessPolicy & { id: string }>): MemberPolicy | undefined {
  const access: Array<{ policy?: Reference; parameter?: NonNullable<ProjectMembership['access']>[number]['parameter'] }> = [
    ...(membership.accessPolicy ? [{ policy: membership.accessPolicy }] : []),
    ...(membership.access ?? []),
  ];
  if (access.length === 0) {
    return undefined;
  }
  const entries: PolicyEntry[] = [];
  const ipAccessRules: IpAccessRule[] = [];
  for (const item of access) {
    const id = item.policy?.reference?.startsWith('AccessPolicy/') ? item.policy.reference.slice('AccessPolicy/'.length) : undefined;
    const policy = policies.find((p) => p.id === id);
    if (!policy) continue;
    const values = parameterValues(membership, item.parameter);
    const source: Reference = { reference: `AccessPolicy/${policy.id}`, ...(policy.name ? { display: policy.name } : {}) };
    for (const parsed of cachedParse(projectId, policy)) {
      const criteria = parsed.criteria && substitute(parsed.criteria, values);
      if (parsed.criteria && !criteria) continue;
      const { compartment: written, ...rest } = parsed;
      const compartment = written === undefined ? undefined : substituteReference(written, values);
      if (written !== undefined && compartment === undefined) continue;
      entries.push({ ...rest, policy: source, ...(criteria ? { criteria } : {}), ...(compartment ? { compartment: { reference: compartment } } : {}) });
    }
    for (const rule of policy.ipAccessRule ?? []) {
      // A rule without a value or a known action matches nothing.
      if (!rule.value || (rule.action !== 'allow' && rule.action !== 'block')) continue;
      ipAccessRules.push({ policy: source, ...(rule.name ? { name: rule.name } : {}), value: rule.value, action: rule.action });
    }
  }
  return { entries, ipAccessRules };
}
