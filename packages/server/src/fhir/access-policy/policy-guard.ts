/**
 * The Repository's access-policy checks for one caller (docs/ARCHITECTURE.md, "Access
 * policies"): the search compiler's context carrying the policy, the single-row check used by
 * read, vread and writes (run on the writing transaction, so it sees the row being written),
 * history's restriction, and what leaves the Repository (hidden fields removed). It only
 * decides; the Repository reads and writes.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Queryable } from '../../db/database.js';
import type { Clock } from '../../deps.js';
import { forbidden, notFound } from '../outcomes.js';
import { redactSecrets } from '../protected-types.js';
import type { ResourceStore } from '../resource-store.js';
import type { Scope } from '../scope.js';
import type { RowRestriction } from '../search/include-sql.js';
import { ROOT_ROW, type CompileContext } from '../search/sql.js';
import { fieldRules, hideFields } from './fields.js';
import { typeAccess, type PolicyHolder, type PolicyInteraction } from './member-policy.js';
import { accessCheck } from './policy-sql.js';

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
