/**
 * A member's policy as SQL: the condition a resource row must satisfy to be reached by an
 * interaction, compiled by the search compiler itself (compile-filter.ts, compile-chain.ts) from
 * each entry's parsed criteria, the entries ORed (their union). Searches AND it into their WHERE
 * (compile-search.ts), every chain and `_has` level into the level's row (compile-chain.ts, with
 * the target type's policy), includes and `$everything` into the row they read
 * (include-sql.ts); the Repository checks a single row with it on read and around each write.
 *
 * The criteria themselves are compiled without any policy inside (a chain in a criterion
 * reaches its target whatever the member's policy on that target says): the policy author
 * wrote them, and a policy applied inside itself would never end.
 */
import { compileLinked } from '../search/compile-chain.js';
import { compileFilter } from '../search/compile-filter.js';
import { and, or, type CompileContext, type RowRef, type SqlParams } from '../search/sql.js';
import { knownResourceTypes } from '../definitions.js';
import { ADMIN_ONLY } from '../protected-types.js';
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

/** One entry's condition on a row: its criteria (and, with policy-compartment work, its compartment); 'true' when it has none. */
export function compileEntry(entry: PolicyEntry, params: SqlParams, ctx: CompileContext, row: RowRef): string {
  return entry.criteria ? compileCriteria(entry.criteria, params, ctx, row) : 'true';
}

/** The AccessCheck of a holder for one interaction (searches and includes use `search`). */
export function accessCheck(holder: PolicyHolder, interaction: PolicyInteraction): AccessCheck | undefined {
  if (!holder.policy || holder.superAdmin) {
    return undefined;
  }
  const conditionFor = (resourceType: string, params: SqlParams, ctx: CompileContext, row: RowRef): string | undefined => {
    const access = typeAccess(holder, resourceType, interaction);
    if (access.kind === 'all') return undefined;
    if (access.kind === 'none') return 'false';
    return or(access.entries.map((e) => compileEntry(e, params, ctx, row)));
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
  if (!holder.policy || holder.superAdmin) return [];
  return [...knownResourceTypes()].filter((t) => !(holder.admin && ADMIN_ONLY.has(t)) && typeAccess(holder, t, interaction).kind === 'none');
}
