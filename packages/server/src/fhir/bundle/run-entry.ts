/**
 * Runs the interactions of Bundle entries on a Repository (inside the transaction the caller
 * opened), and says what each entry's response holds. Identities (which id a create or a
 * conditional update writes) and references are settled before, in transaction.ts.
 */
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { conditionalDelete, type ConditionalContext } from '../conditional.js';
import { isNotModified } from '../conditional-read.js';
import { allOk } from '../outcomes.js';
import type { Repository } from '../repository.js';
import { buildSearchBundle } from '../search/bundle.js';
import type { EntryAction } from './entry-request.js';

export interface EntryResult {
  status: number;
  /** What was written or read (a Bundle for a search). */
  resource?: Resource;
  /** Whether the response entry may carry the resource (not for HEAD, not for 304). */
  body: boolean;
  /** A write: the response carries its location. */
  written: boolean;
  outcome?: OperationOutcome;
  /** `Type/id` of the resources a delete removed, for the overlap check. */
  deleted?: string[];
}

type DeleteAction = Extract<EntryAction, { kind: 'delete' | 'conditional-delete' }>;
type ReadAction = Extract<EntryAction, { kind: 'read' | 'vread' | 'search' }>;

export async function runDelete(repo: Repository, action: DeleteAction, ctx: ConditionalContext, where: string): Promise<EntryResult> {
  if (action.kind === 'delete') {
    await repo.delete(action.type, action.id, { ...(action.ifMatch === undefined ? {} : { ifMatch: action.ifMatch }) });
    return { status: 200, body: false, written: false, outcome: allOk(`Deleted ${action.type}/${action.id}`), deleted: [`${action.type}/${action.id}`] };
  }
  const ids = await conditionalDelete(repo, action.type, action.query, ctx, where);
  return {
    status: 200,
    body: false,
    written: false,
    outcome: allOk(`Deleted ${ids.length} ${action.type}${ids.length === 1 ? '' : 's'}`),
    deleted: ids.map((id) => `${action.type}/${id}`),
  };
}

export async function runRead(repo: Repository, action: ReadAction, fhirBase: string): Promise<EntryResult> {
  switch (action.kind) {
    case 'read': {
      const resource = await repo.read(action.type, action.id);
      const notModified = isNotModified(resource, {
        ...(action.ifNoneMatch === undefined ? {} : { ifNoneMatch: action.ifNoneMatch }),
        ...(action.ifModifiedSince === undefined ? {} : { ifModifiedSince: action.ifModifiedSince }),
      });
      return { status: notModified ? 304 : 200, resource, body: !notModified && !action.head, written: false };
    }
    case 'vread':
      return { status: 200, resource: await repo.vread(action.type, action.id, action.versionId), body: !action.head, written: false };
    case 'search': {
      const result = await repo.search(action.type, [...new URLSearchParams(action.query)], { lenient: false, fhirBase });
      return { status: 200, resource: buildSearchBundle(fhirBase, result), body: !action.head, written: false };
    }
  }
}
