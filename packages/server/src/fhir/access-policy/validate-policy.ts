/**
 * Checks an AccessPolicy when it is saved through the FHIR API (only project admins may),
 * so a mistake is a 400 naming the entry rather than a member locked out at sign-in:
 * - each `resource[i].resourceType` is a known type or `*`;
 * - each `resource[i].criteria` searches that type (`Observation?...` for an Observation
 *   entry) and parses with the search parser: an unknown parameter, a modifier this server
 *   does not support, a result parameter (`_count`, `_include`...) are refused;
 * - its `%placeholders` are ones a membership can provide: `%profile`, `%patient` and their
 *   `.id`, or a name made of letters, digits, `_` and `-` that memberships give through
 *   `access[].parameter` (a membership without it gets nothing from that entry);
 * - chains and `_has` are accepted when the parser accepts them (at most two references
 *   deep): they compile to SQL like any search, so every path enforces them. A `*` entry
 *   takes no criteria (no parameter is common to every type).
 * - `interaction[]` names only create, read, vread, update, delete, search, history;
 * - `hiddenFields` / `readonlyFields` are element paths (`name.family`, `value[x]`);
 * - `compartment` (the policy's, or an entry's deprecated one) names a Patient: `Patient/<id>`,
 *   `Patient/%name.id`, or a placeholder holding a reference (`%patient`, `%profile`, `%name`).
 *   Only the Patient compartment is served (policy-sql.ts); any other would grant nothing.
 */
import type { AccessPolicy, AccessPolicyIpAccessRule, ProjectMembership, Reference } from '@medplum/fhirtypes';
import { isKnownResourceType } from '../definitions.js';
import { badRequest, OutcomeError } from '../outcomes.js';
import { compileLinked } from '../search/compile-chain.js';
import { compileFilter } from '../search/compile-filter.js';
import type { LinkedFilter } from '../search/parse-chain.js';
import type { SearchFilter } from '../search/parse.js';
import { ROOT_ROW, SqlParams } from '../search/sql.js';
import { parameterValues, parseCriteria, placeholdersIn, splitCriteria, substitute } from './load-policy.js';
import { patientIdOf } from '../search/compartment.js';
import { assertValidWriteConstraints } from './write-constraint.js';
import { ALL_INTERACTIONS, type PolicyCriteria } from './member-policy.js';

/** Any placeholder: a reference-shaped sample (`%name`), or an id (`%name.id`). */
class SampleValues extends Map<string, string> {
  override get(name: string): string {
    return name.endsWith('.id') ? '00000000-0000-4000-8000-000000000000' : 'Patient/00000000-0000-4000-8000-000000000000';
  }
}

const FIELD_PATH = /^[A-Za-z][A-Za-z0-9]*(\[x\])?(\.[A-Za-z][A-Za-z0-9]*(\[x\])?)*$/;
const RESULT_PARAMS = /^_(count|sort|total|summary|elements|cursor|include|revinclude|format|pretty)(:|$)/;

/** `Patient/<id>`, `Patient/%name.id`, or `%name` (a reference-valued placeholder). */
const PATIENT_COMPARTMENT = /^(Patient\/[A-Za-z0-9\-.]{1,64}|Patient\/%[A-Za-z][A-Za-z0-9_-]*\.id|%[A-Za-z][A-Za-z0-9_-]*)$/;

function assertPatientCompartment(compartment: Reference | undefined, at: string): void {
  if (compartment === undefined) return;
  const text = compartment.reference;
  if (!text || !PATIENT_COMPARTMENT.test(text)) {
    throw badRequest(
      `${at}: "${text ?? ''}" is not a Patient compartment: only Patient/<id>, Patient/%name.id or a reference parameter such as %patient or %profile is served`,
      at,
    );
  }
}

/** A rule's value is an address, a prefix of one (ip-rules.ts), or `*`; its action allow or block. */
const IP_RULE_VALUE = /^(\*|[0-9A-Fa-f.:]{1,45})$/;

function assertValidIpRule(rule: AccessPolicyIpAccessRule, at: string): void {
  if (typeof rule.value !== 'string' || !IP_RULE_VALUE.test(rule.value)) {
    throw badRequest(`${at}.value: "${String(rule.value ?? '')}" is not an IP address, the start of one (10.0.) or *; CIDR ranges are not supported`, `${at}.value`);
  }
  if (rule.action !== 'allow' && rule.action !== 'block') {
    throw badRequest(`${at}.action: must be allow or block`, `${at}.action`);
  }
}

export function assertValidPolicy(policy: AccessPolicy): void {
  assertPatientCompartment(policy.compartment, 'compartment');
  (policy.resource ?? []).forEach((entry, i) => {
    const at = `resource[${i}]`;
    assertPatientCompartment(entry.compartment, `${at}.compartment`);
    const type = entry.resourceType;
    if (!type || (type !== '*' && !isKnownResourceType(type))) {
      throw badRequest(`${at}.resourceType: "${type ?? ''}" is not a resource type (or *)`, `${at}.resourceType`);
    }
    ((entry.interaction ?? []) as string[]).forEach((interaction, j) => {
      if (!(ALL_INTERACTIONS as readonly string[]).includes(interaction)) {
        throw badRequest(`${at}.interaction[${j}]: "${interaction}" is not one of ${ALL_INTERACTIONS.join(', ')}`, `${at}.interaction[${j}]`);
      }
    });
    for (const [list, paths] of [['hiddenFields', entry.hiddenFields], ['readonlyFields', entry.readonlyFields]] as const) {
      (paths ?? []).forEach((path, j) => {
        if (!FIELD_PATH.test(path)) {
          throw badRequest(`${at}.${list}[${j}]: "${path}" is not an element path such as name.family or value[x]`, `${at}.${list}[${j}]`);
        }
      });
    }
    if (entry.criteria !== undefined) {
      assertValidCriteria(type, entry.criteria, `${at}.criteria`);
    }
    assertValidWriteConstraints(entry, at);
  });
  (policy.ipAccessRule ?? []).forEach((rule, k) => assertValidIpRule(rule, `ipAccessRule[${k}]`));
}

function assertValidCriteria(type: string, text: string, at: string): void {
  const split = splitCriteria(text);
  if (split.resourceType !== type) {
    throw badRequest(`${at}: the criteria must search ${type} ("${type}?..."), not "${split.resourceType}"`, at);
  }
  if (type === '*' && split.entries.length > 0) {
    throw badRequest(`${at}: a * entry cannot have criteria (no search parameter is common to every type)`, at);
  }
  for (const [name] of split.entries) {
    if (RESULT_PARAMS.test(name)) {
      throw badRequest(`${at}: ${name} selects nothing and cannot be part of a policy's criteria`, at);
    }
  }
  for (const name of placeholdersIn(text)) {
    if (!/^[A-Za-z][A-Za-z0-9_-]*(\.id)?$/.test(name)) {
      throw badRequest(`${at}: %${name} is not a parameter a membership can provide`, at);
    }
  }
  try {
    const parsed = parseCriteria(type, text);
    // Values and modifiers are checked by the compilers: compile each part once, with sample
    // values for the placeholders; a part whose value is a placeholder may fail only on the sample.
    const sampled = substitute(parsed, new SampleValues()) as PolicyCriteria;
    const ctx = { fhirBase: '', now: new Date(0) };
    const parts = [
      ...parsed.filters.map((f, i) => [f.values, () => compileFilter(sampled.filters[i] as SearchFilter, new SqlParams(), ctx, ROOT_ROW)] as const),
      ...parsed.linked.map((l, i) => [[JSON.stringify(l)], () => compileLinked(sampled.linked[i] as LinkedFilter, new SqlParams(), ctx, ROOT_ROW)] as const),
    ];
    for (const [values, compile] of parts) {
      try {
        compile();
      } catch (err) {
        if (!(err instanceof OutcomeError) || !values.some((v) => placeholdersIn(v).length > 0)) throw err;
      }
    }
  } catch (err) {
    if (err instanceof OutcomeError) {
      throw badRequest(`${at}: ${err.message}`, at);
    }
    throw err;
  }
}

/**
 * On update: every membership that already uses the policy must provide each placeholder the
 * criteria name (`%patient` needs a Patient profile or a `patient` parameter; `%cat` a `cat`
 * parameter on the membership's `access[]` item for this policy). Otherwise the entry would
 * silently grant that member nothing: a 400 naming the entry instead.
 */
export function assertMembershipsProvide(policy: AccessPolicy & { id: string }, memberships: readonly ProjectMembership[]): void {
  const reference = `AccessPolicy/${policy.id}`;
  const itemsUsing = (m: ProjectMembership): Array<{ parameter?: NonNullable<ProjectMembership['access']>[number]['parameter'] }> => [
    ...(m.accessPolicy?.reference === reference ? [{ parameter: [] }] : []),
    ...(m.access ?? []).filter((a) => a.policy?.reference === reference),
  ];
  (policy.resource ?? []).forEach((entry, i) => {
    const names = entry.criteria ? placeholdersIn(entry.criteria) : [];
    if (names.length === 0) return;
    for (const m of memberships) {
      for (const item of itemsUsing(m)) {
        const values = parameterValues(m, item.parameter);
        const missing = names.find((n) => !values.has(n));
        if (missing) {
          throw badRequest(`resource[${i}].criteria: %${missing} is not provided by ProjectMembership/${m.id}, which uses this policy`, `resource[${i}].criteria`);
        }
      }
    }
  });
  // A compartment's placeholder must give each member a Patient: otherwise its entries grant that member nothing.
  const compartments: Array<[string, string]> = [
    ...(policy.compartment?.reference ? [[policy.compartment.reference, 'compartment'] as [string, string]] : []),
    ...(policy.resource ?? []).flatMap((e, i) => (e.compartment?.reference ? [[e.compartment.reference, `resource[${i}].compartment`] as [string, string]] : [])),
  ];
  for (const [text, at] of compartments) {
    if (placeholdersIn(text).length === 0) continue;
    for (const m of memberships) {
      for (const item of itemsUsing(m)) {
        const values = parameterValues(m, item.parameter);
        const substituted = text.replace(/%([A-Za-z][A-Za-z0-9_-]*(?:\.id)?)/g, (_m, name: string) => values.get(name) ?? '');
        if (patientIdOf(substituted) === undefined) {
          throw badRequest(`${at}: ${text} does not name a Patient for ProjectMembership/${m.id}, which uses this policy`, at);
        }
      }
    }
  }
}
