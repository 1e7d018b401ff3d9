/**
 * A member's policy as SQL: the condition a resource row must satisfy to be reached by an
 * interaction, compiled by the search compiler itself (compile-filter.ts, compile-chain.ts) from
 * each entry's parsed criteria, the entries ORed (their union). Searches AND it into their WHERE
 * (compile-search.ts), every chain and `_has` level into the level's row (compile-chain.ts, with
 * the target type's policy), includes and `$everything` into the row they read
 * (include-sql.ts); the Repository checks a single row with it on read and around each write.
 *
 * An entry with a compartment (the policy's, or a token's launch patient: member-policy.ts) adds
 * the Patient compartment condition compartment search uses (compartment.ts), so "in Alice's
 * compartment" means the same thing in `Patient/alice/Observation` and in a policy.
 *
 * The criteria themselves are compiled without any policy inside (a chain in a criterion
 * reaches its target whatever the member's policy on that target says): the policy author
 * wrote them, and a policy applied inside itself would never end.
 */
import { compileLinked } from '../search/compile-chain.js';
import { compileFilter } from '../search/compile-filter.js';
import { and, or, type CompileContext, type RowRef, type SqlParams } from '../search/sql.js';
import { knownResourceTypes } from '../definitions.js';
import { compileCompartment, patientCompartmentOf, patientIdOf } from '../search/compartment.js';
import { typeAccess, type PolicyCriteria, type PolicyEntry, type PolicyHolder, type PolicyInteraction } from './member-policy.js';

/** What compile-*.ts ask about the caller: the condition for a row of one type, of any type. */
export interface AccessCheck {
  /** Undefined when the caller reaches every row of the type; `false` when none. */
  conditionFor(resourceType: string, params: SqlParams, ctx: CompileContext, row: RowRef): string | undefined;
  /** For a row whose type is its `resource_type` column (includes, `$everything`); undefined: no restriction. */
  conditionForAnyType(params: SqlParams, ctx: CompileContext, alias: string): string | undefined;
}

export function compileCriteria(criteria: PolicyCriteria, params: SqlParams, ctx: CompileContext, row: RowRef): string {
  const inner: CompileContext = { fhirBase: ctx.fhirBase, now: ctx.now };
  const parts = [...criteria.filters.map((f) => compileFilter(f, params, inner, row)), ...criteria.linked.map((l) => compileLinked(l, params, inner, row))];
  return parts.length === 0 ? 'true' : and(parts);
}

/**
 * A row of `type` in Patient/{patientId}'s compartment (compartment.ts, the CompartmentDefinition
 * compartment search uses). `type` must be the row's type: a RowRef's type is a placeholder
 * whose value the caller knows. A type outside the compartment: 'false'.
 */
function compileInCompartment(resourceType: string, patientId: string | undefined, params: SqlParams, row: RowRef): string {
  const filter = patientId === undefined ? undefined : patientCompartmentOf(resourceType, patientId);
  return filter ? compileCompartment(filter, params, row) : 'false';
}

/**
 * One entry's condition on a row of `resourceType` (the entry's own type unless it is `*`): its
 * criteria, its policy compartment and the token's launch-patient compartment, ANDed; 'true'
 * when it has none of them.
 */
export function compileEntry(entry: PolicyEntry, params: SqlParams, ctx: CompileContext, row: RowRef, resourceType: string = entry.resourceType): string {
  const parts: string[] = [];
  if (entry.criteria) parts.push(compileCriteria(entry.criteria, params, ctx, row));
  // A compartment that is not a Patient reference compiles to 'false' (fail closed).
  if (entry.compartment) parts.push(compileInCompartment(resourceType, patientIdOf(entry.compartment.reference), params, row));
  if (entry.launchPatient !== undefined) parts.push(compileInCompartment(resourceType, entry.launchPatient, params, row));
  return parts.length === 0 ? 'true' : and(parts);
}

/** Whether a holder is narrowed at all: a policy (not a super admin's), or a token's `patient/` scopes. */
function narrowed(holder: PolicyHolder): boolean {
  return (holder.policy !== undefined && !holder.superAdmin) || holder.patientNarrowing !== undefined;
}

/** The AccessCheck of a holder for one interaction (searches and includes use `search`). */
export function accessCheck(holder: PolicyHolder, interaction: PolicyInteraction): AccessCheck | undefined {
  if (!narrowed(holder)) {
    return undefined;
  }
  const conditionFor = (resourceType: string, params: SqlParams, ctx: CompileContext, row: RowRef): string | undefined => {
    const access = typeAccess(holder, resourceType, interaction);
    if (access.kind === 'all') return undefined;
    if (access.kind === 'none') return 'false';
    return or(access.entries.map((e) => compileEntry(e, params, ctx, row, resourceType)));
  };
  const conditionForAnyType = (params: SqlParams, ctx: CompileContext, alias: string): string | undefined => {
    const whole: string[] = [];
    const branches: string[] = [];
    for (const type of knownResourceTypes()) {
      const access = typeAccess(holder, type, interaction);
      if (access.kind === 'all') {
        whole.push(type);
      } else if (access.kind === 'some') {
        const t = params.add(type, 'text');
        branches.push(`(${alias}.resource_type = ${t} AND ${conditionFor(type, params, ctx, { alias, type: t })})`);
      }
    }
    if (branches.length === 0 && whole.length === knownResourceTypes().size) return undefined;
    if (whole.length > 0) branches.unshift(`${alias}.resource_type = ANY(${params.add(whole, 'text[]')})`);
    return branches.length === 0 ? 'false' : or(branches);
  };
  return { conditionFor, conditionForAnyType };
}

/** The types a holder's policy gives no `interaction` on at all (403 when named, left out when implied). */
export function typesOutsidePolicy(holder: PolicyHolder, interaction: PolicyInteraction): string[] {
  if (!narrowed(holder)) return [];
  // typeAccess keeps the admin-only types a project admin's, unless `patient/` scopes narrow them.
  return [...knownResourceTypes()].filter((t) => typeAccess(holder, t, interaction).kind === 'none');
}
