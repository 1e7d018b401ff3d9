/**
 * The Repository's access-policy checks for one caller (docs/ARCHITECTURE.md, "Access
 * policies"): the search compiler's context carrying the policy, the single-row check used by
 * read, vread and writes (run on the writing transaction, so it sees the row being written),
 * history's restriction, what leaves the Repository (hidden fields removed), and the entries'
 * write constraints (write-constraint.ts). It only decides; the Repository reads and writes.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Queryable } from '../../db/database.js';
import type { Clock } from '../../deps.js';
import { forbidden, notFound } from '../outcomes.js';
import { redactSecrets } from '../protected-types.js';
import type { ResourceStore } from '../resource-store.js';
import type { Scope } from '../scope.js';
import type { RowRestriction } from '../search/include-sql.js';
import { ROOT_ROW, SqlParams, type CompileContext } from '../search/sql.js';
import { fieldRules, hideFields } from './fields.js';
import { typeAccess, type PolicyEntry, type PolicyHolder, type PolicyInteraction } from './member-policy.js';
import { accessCheck, compileEntry } from './policy-sql.js';
import { writeConstraintsHold } from './write-constraint.js';

export class PolicyGuard {
  constructor(
    private readonly holder: PolicyHolder,
    private readonly scope: Scope,
    private readonly store: () => ResourceStore,
    private readonly clock: Clock,
  ) {}

  /** The search compiler's context, with the caller's policy for `interaction`. */
  compileContext(interaction: PolicyInteraction, fhirBase: string): CompileContext {
    const access = accessCheck(this.holder, interaction);
    return { fhirBase, now: this.clock.now(), ...(access ? { access } : {}) };
  }

  /** Whether the current row of a resource is within the policy for `interaction` (no query when no criteria apply). */
  async reaches(q: Queryable, resourceType: string, id: string, interaction: PolicyInteraction): Promise<boolean> {
    const access = typeAccess(this.holder, resourceType, interaction);
    if (access.kind !== 'some') {
      return access.kind === 'all';
    }
    const ctx = this.compileContext(interaction, '');
    return this.store().rowSatisfies(this.scope, resourceType, id, (params) => ctx.access?.conditionFor(resourceType, params, ctx, ROOT_ROW) ?? 'true', q);
  }

  /** Before changing a stored resource: outside what the member may read, 404 as a read; readable but not writable, 403. */
  async assertBeforeWrite(tx: Queryable, resourceType: string, id: string, interaction: PolicyInteraction): Promise<void> {
    if (await this.reaches(tx, resourceType, id, interaction)) {
      return;
    }
    if (!(await this.reaches(tx, resourceType, id, 'read'))) {
      throw notFound(`${resourceType}/${id} not found`);
    }
    throw forbidden(`Your access policy does not allow ${interaction} on ${resourceType}/${id}`);
  }

  /** After writing, in the same transaction: the new state must be within the policy, or the write is refused (and rolled back). */
  async assertAfterWrite(tx: Queryable, resourceType: string, id: string, interaction: PolicyInteraction): Promise<void> {
    if (!(await this.reaches(tx, resourceType, id, interaction))) {
      throw forbidden(`Your access policy does not allow this ${resourceType}: the written resource would be outside it`);
    }
  }

  /**
   * Before a create, update or PATCH: the entries granting `interaction` that may allow it under
   * their write constraints, i.e. those whose own condition reaches the stored row (every one on
   * create, `stored` undefined). Undefined when no entry granting it has a constraint: then the
   * union rule of assertBeforeWrite and assertAfterWrite alone decides, with no extra query.
   */
  async constraintCandidates(tx: Queryable, resourceType: string, id: string, interaction: PolicyInteraction, stored: Resource | undefined): Promise<PolicyEntry[] | undefined> {
    const access = typeAccess(this.holder, resourceType, interaction);
    if (access.kind === 'none' || !access.entries.some((e) => e.writeConstraints.length > 0)) {
      return undefined;
    }
    if (!stored) {
      return access.entries;
    }
    const reaching: PolicyEntry[] = [];
    for (const entry of access.entries) {
      if (await this.entryReaches(tx, resourceType, id, entry, interaction)) reaching.push(entry);
    }
    return reaching;
  }

  /**
   * After writing, in the same transaction: one candidate entry must reach the written row and
   * have all its constraints true of the write (entries are a union: one is enough), or 403,
   * which rolls the write back.
   */
  async assertWriteConstraints(tx: Queryable, resourceType: string, id: string, interaction: PolicyInteraction, candidates: readonly PolicyEntry[] | undefined, before: Resource | undefined, after: Resource): Promise<void> {
    if (!candidates) {
      return;
    }
    for (const entry of candidates) {
      // The constraints first: they are evaluated in memory, the entry's condition is a query.
      if (writeConstraintsHold(entry.writeConstraints, before, after) && (await this.entryReaches(tx, resourceType, id, entry, interaction))) {
        return;
      }
    }
    throw forbidden(`Your access policy does not allow this ${interaction} of ${resourceType}/${id}: its write constraints are not met`);
  }

  /** Whether one entry's own condition (policy-sql.ts `compileEntry`) holds for the current row. */
  private async entryReaches(q: Queryable, resourceType: string, id: string, entry: PolicyEntry, interaction: PolicyInteraction): Promise<boolean> {
    const ctx = this.compileContext(interaction, '');
    if (compileEntry(entry, new SqlParams(), ctx, ROOT_ROW, resourceType) === 'true') {
      return true;
    }
    return this.store().rowSatisfies(this.scope, resourceType, id, (params) => compileEntry(entry, params, ctx, ROOT_ROW, resourceType), q);
  }

  /** History's condition on the current row of each resource (undefined: no policy narrows it). */
  historyRestriction(resourceType: string | undefined): RowRestriction | undefined {
    const ctx = this.compileContext('history', '');
    const access = ctx.access;
    if (!access) {
      return undefined;
    }
    if (resourceType === undefined) {
      return (params, alias) => access.conditionForAnyType(params, ctx, alias);
    }
    if (typeAccess(this.holder, resourceType, 'history').kind === 'all') {
      return undefined;
    }
    return (params, alias) => access.conditionFor(resourceType, params, ctx, { alias, type: params.add(resourceType, 'text') });
  }

  /** What leaves the repository: secrets redacted, the policy's hidden fields removed. */
  output<T extends Resource>(resource: T): T {
    return hideFields(redactSecrets(resource), fieldRules(this.holder, resource.resourceType).hidden);
  }
}
