/**
 * A transaction (https://hl7.org/fhir/R4/http.html#trules): every entry in ONE database
 * transaction, all or nothing. Processing order, as the spec sets it:
 *   1. DELETE (plain and conditional);
 *   2. the identity of every POST and PUT: a new id for a create, the match of a conditional
 *      create (If-None-Exist, which then writes nothing) or of a conditional update; each
 *      entry's fullUrl now stands for its `Type/id`;
 *   3. POST, with references resolved (references.ts);
 *   4. PUT and PATCH, references resolved likewise;
 *   5. GET and HEAD, which see the writes before them.
 * The locks of every conditional create and update are taken first, in one statement (db/advisory-locks.ts).
 * Two entries acting on the same resource, or sharing a fullUrl, fail the transaction.
 * The first failing entry fails it with that entry's status, its error naming the entry.
 *
 * A batch runs each entry as a transaction of one (batch.ts), so both share this code.
 */
import type { Resource } from '@medplum/fhirtypes';
import { lockKeys } from '../../db/advisory-locks.js';
import { criteriaKey, findMatches, findOneMatch, parseCriteria, resolveUpdateTarget, type ConditionalContext } from '../conditional.js';
import { badRequest, outcomeError } from '../outcomes.js';
import type { Repository } from '../repository.js';
import { atEntry, entryPath } from './entry-error.js';
import type { EntryAction, ParsedEntry } from './entry-request.js';
import { resolveReferences, resolveUrnsInQuery, type ReferenceResolver } from './references.js';
import { runDelete, runRead, type EntryResult } from './run-entry.js';

type Kind = EntryAction['kind'];

/** Runs the entries in one transaction; the results are in the entries' order. */
export async function runTransaction(repo: Repository, entries: ParsedEntry[], ctx: ConditionalContext): Promise<EntryResult[]> {
  try {
    return await repo.inTransaction(async (r, tx) => {
      const run = new TransactionRun(r, entries, ctx);
      await lockKeys(tx, run.conditionalKeys());
      await run.deletes();
      await run.identities();
      await run.creates();
      await run.updates();
      await run.reads();
      return run.results();
    });
  } catch (err) {
    // PostgreSQL chose this transaction as a deadlock's victim, or could not serialise it:
    // nothing was written, and the same request may succeed when sent again.
    const code = (err as { code?: unknown }).code;
    if (code === '40P01' || code === '40001') {
      throw outcomeError(409, 'transient', 'The transaction conflicted with a concurrent one and was rolled back; send it again');
    }
    throw err;
  }
}

interface Target {
  type: string;
  id: string;
}

class TransactionRun {
  private readonly out: Array<EntryResult | undefined>;
  /** fullUrl -> `Type/id`. */
  private readonly ids = new Map<string, string>();
  /** The id each create, update and conditional update writes, by position. */
  private readonly targets = new Map<number, Target>();
  /** `Type/id` -> the entry (Bundle index) acting on it. */
  private readonly touched = new Map<string, number>();
  private readonly conditionalReferences = new Map<string, string>();

  constructor(
    private readonly repo: Repository,
    private readonly entries: ParsedEntry[],
    private readonly ctx: ConditionalContext,
  ) {
    this.out = entries.map(() => undefined);
  }

  conditionalKeys(): string[] {
    return this.entries.flatMap((entry) =>
      this.step(entry, () => {
        const { action } = entry;
        if (action.kind === 'create' && action.ifNoneExist !== undefined) {
          return [criteriaKey(this.repo.ctx.projectId, action.type, parseCriteria(action.type, action.ifNoneExist, this.at(entry, 'request.ifNoneExist')))];
        }
        if (action.kind === 'conditional-update') {
          return [criteriaKey(this.repo.ctx.projectId, action.type, parseCriteria(action.type, action.query, this.at(entry, 'request.url')))];
        }
        return [];
      }),
    );
  }

  async deletes(): Promise<void> {
    for (const [position, entry] of this.of('delete', 'conditional-delete')) {
      const result = await this.stepAsync(entry, () => runDelete(this.repo, entry.action as Extract<EntryAction, { kind: 'delete' | 'conditional-delete' }>, this.ctx, this.at(entry, 'request.url')));
      result.deleted?.forEach((reference) => this.touch(entry, reference));
      this.out[position] = result;
    }
  }

  async identities(): Promise<void> {
    for (const [position, entry] of this.of('create')) {
      await this.stepAsync(entry, async () => {
        const action = entry.action as Extract<EntryAction, { kind: 'create' }>;
        let id = this.ctx.random.uuid();
        if (action.ifNoneExist !== undefined) {
          const where = this.at(entry, 'request.ifNoneExist');
          const existing = await findOneMatch(this.repo, action.type, parseCriteria(action.type, resolveUrnsInQuery(action.ifNoneExist, this.ids), where), this.ctx, where);
          if (existing) {
            // A conditional create that finds its resource writes nothing and answers 200 with it.
            this.out[position] = { status: 200, resource: existing, body: true, written: false };
            id = existing.id as string;
          }
        }
        this.identify(position, entry, { type: action.type, id });
      });
    }
    for (const [position, entry] of this.of('update', 'conditional-update', 'patch')) {
      await this.stepAsync(entry, async () => {
        const action = entry.action as Extract<EntryAction, { kind: 'update' | 'conditional-update' | 'patch' }>;
        let id: string;
        if (action.kind === 'conditional-update') {
          const where = this.at(entry, 'request.url');
          const criteria = parseCriteria(action.type, resolveUrnsInQuery(action.query, this.ids), where);
          id = await resolveUpdateTarget(this.repo, action.type, criteria, action.resource, this.ctx, where);
        } else {
          id = action.id;
        }
        this.identify(position, entry, { type: action.type, id });
      });
    }
  }

  async creates(): Promise<void> {
    for (const [position, entry] of this.of('create')) {
      if (this.out[position]) {
        continue; // A conditional create that found its match.
      }
      this.out[position] = await this.stepAsync(entry, async () => {
        const action = entry.action as Extract<EntryAction, { kind: 'create' }>;
        const resource = await resolveReferences(action.resource, this.resolver(), this.at(entry, 'resource'));
        const written = await this.repo.create(resource, { id: this.target(position).id });
        return { status: 201, resource: written.resource, body: true, written: true };
      });
    }
  }

  /** PUT and PATCH, in entry order. */
  async updates(): Promise<void> {
    for (const [position, entry] of this.of('update', 'conditional-update', 'patch')) {
      this.out[position] = await this.stepAsync(entry, async () => {
        const { action } = entry;
        const { id } = this.target(position);
        const options = 'ifMatch' in action && action.ifMatch !== undefined ? { ifMatch: action.ifMatch } : {};
        if (action.kind === 'patch') {
          const operations = await resolveReferences(action.operations, this.resolver(), this.at(entry, 'resource.data'));
          return { status: 200, resource: await this.repo.patch(action.type, id, operations, options), body: true, written: true };
        }
        const { resource: body } = action as Extract<EntryAction, { kind: 'update' | 'conditional-update' }>;
        // A plain update keeps the body's id, which the Repository checks against the url's.
        const withId = action.kind === 'conditional-update' ? ({ ...body, id } as Resource) : body;
        const resource = await resolveReferences(withId, this.resolver(), this.at(entry, 'resource'));
        const written = await this.repo.update(action.type, id, resource, options);
        return { status: written.created ? 201 : 200, resource: written.resource, body: true, written: true };
      });
    }
  }

  async reads(): Promise<void> {
    for (const [position, entry] of this.of('read', 'vread', 'search')) {
      this.out[position] = await this.stepAsync(entry, () => {
        const action = entry.action as Extract<EntryAction, { kind: 'read' | 'vread' | 'search' }>;
        return runRead(this.repo, action.kind === 'search' ? { ...action, query: resolveUrnsInQuery(action.query, this.ids) } : action, this.ctx.fhirBase);
      });
    }
  }

  results(): EntryResult[] {
    return this.out.map((result) => {
      if (!result) {
        throw new Error('a transaction entry was not run');
      }
      return result;
    });
  }

  private of(...kinds: Kind[]): Array<[number, ParsedEntry]> {
    return this.entries.flatMap((entry, position): Array<[number, ParsedEntry]> => (kinds.includes(entry.action.kind) ? [[position, entry]] : []));
  }

  private identify(position: number, entry: ParsedEntry, target: Target): void {
    this.targets.set(position, target);
    this.touch(entry, `${target.type}/${target.id}`);
    if (entry.fullUrl !== undefined) {
      if (this.ids.has(entry.fullUrl)) {
        throw badRequest(`Another entry has the fullUrl ${entry.fullUrl}`, this.at(entry, 'fullUrl'));
      }
      this.ids.set(entry.fullUrl, `${target.type}/${target.id}`);
    }
  }

  /** https://hl7.org/fhir/R4/http.html#trules: entries whose identities overlap fail the transaction. */
  private touch(entry: ParsedEntry, reference: string): void {
    const other = this.touched.get(reference);
    if (other !== undefined && other !== entry.index) {
      throw badRequest(`${reference} is also the target of ${entryPath(other)}; one transaction changes a resource once`, this.at(entry, 'request.url'));
    }
    this.touched.set(reference, entry.index);
  }

  private target(position: number): Target {
    const target = this.targets.get(position);
    if (!target) {
      throw new Error('an entry without an identity');
    }
    return target;
  }

  private resolver(): ReferenceResolver {
    return {
      ids: this.ids,
      resolveConditional: async (type, query, where) => {
        const key = `${type}?${query}`;
        const known = this.conditionalReferences.get(key);
        if (known !== undefined) {
          return known;
        }
        const matches = await findMatches(this.repo, type, parseCriteria(type, query, where), 2, this.ctx, where);
        if (matches.length !== 1) {
          throw matches.length === 0
            ? outcomeError(400, 'not-found', `No ${type} matches the conditional reference ${key}`, where)
            : outcomeError(412, 'multiple-matches', `More than one ${type} matches the conditional reference ${key}`, where);
        }
        const reference = `${type}/${(matches[0] as Resource).id}`;
        this.conditionalReferences.set(key, reference);
        return reference;
      },
    };
  }

  private at(entry: ParsedEntry, field: string): string {
    return `${entryPath(entry.index)}.${field}`;
  }

  private step<T>(entry: ParsedEntry, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw atEntry(entry.index, err);
    }
  }

  private async stepAsync<T>(entry: ParsedEntry, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw atEntry(entry.index, err);
    }
  }
}
