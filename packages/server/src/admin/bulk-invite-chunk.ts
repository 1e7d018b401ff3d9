/**
 * One chunk of a bulk invite in one transaction (bulk-invite.ts forms the chunks, each person
 * at most once in a chunk). The rows run through the same invite as `POST /invite`
 * (inviteMemberIn), with three things done once for the chunk instead of once per row: the
 * advisory locks of all its people, in one statement and in sorted order (so two bulk invites
 * and single invites of the same emails wait for each other and cannot deadlock); the index
 * lookups (InviteLookups.prefetch); and the writes, held by a BatchingResourceStore and sent in
 * one statement at the end. A row that fails (a 4xx: a policy that is not in the project, a
 * RelatedPerson without a patient) has its held writes dropped and is reported, so it writes
 * nothing, and the other rows still go in. If the chunk's transaction fails as a whole (a
 * database error), its rows run again one by one, each in its own transaction, as before
 * chunks existed, so one row's database error costs only that row.
 */
import type { Project } from '@medplum/fhirtypes';
import { lockKeys } from '../db/advisory-locks.js';
import { OutcomeError } from '../fhir/outcomes.js';
import { BatchingResourceStore } from '../fhir/resource-store-bulk.js';
import type { InviteInput } from './invite-input.js';
import { InviteLookups, inviteLockKeys, userProjectOf } from './invite-lookups.js';
import { inviteMember, inviteMemberIn, type InviteDeps, type InviteResult, type Inviter } from './invite-service.js';

type Stored<T> = T & { id: string };

/** A row's invite, done, or the 4xx it failed with. */
export type RowOutcome = { result: InviteResult } | { error: OutcomeError };

async function runRow(run: () => Promise<InviteResult>): Promise<RowOutcome> {
  try {
    return { result: await run() };
  } catch (err) {
    if (err instanceof OutcomeError && err.status < 500) return { error: err };
    throw err;
  }
}

/** Invites `inputs` (distinct people) into `project`; outcomes in input order. A server fault (5xx) throws. */
export async function inviteChunk(deps: InviteDeps, inviter: Inviter, project: Stored<Project>, inputs: readonly InviteInput[]): Promise<RowOutcome[]> {
  const options = { reportExisting: true, project } as const;
  const store = new BatchingResourceStore(deps.db);
  const chunkDeps: InviteDeps = { ...deps, store };
  try {
    return await deps.db.transaction(async (tx) => {
      await lockKeys(tx, inputs.flatMap((input) => inviteLockKeys(project.id, userProjectOf(project.id, input), input)));
      const lookups = new InviteLookups(store, tx, project.id);
      await lookups.prefetch(inputs);
      const outcomes: RowOutcome[] = [];
      for (const input of inputs) {
        const mark = store.mark();
        const outcome = await runRow(() => inviteMemberIn(chunkDeps, tx, inviter, project.id, input, { ...options, lookups, locked: true }));
        if ('error' in outcome) store.discardFrom(mark);
        outcomes.push(outcome);
      }
      await store.flush(tx);
      return outcomes;
    });
  } catch {
    const outcomes: RowOutcome[] = [];
    for (const input of inputs) outcomes.push(await runRow(() => inviteMember(deps, inviter, project.id, input, options)));
    return outcomes;
  }
}
