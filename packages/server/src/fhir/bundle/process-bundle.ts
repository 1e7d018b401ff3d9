/**
 * `POST [base]` with a Bundle (https://hl7.org/fhir/R4/http.html#transaction): a `batch`,
 * whose entries succeed or fail each on its own, or a `transaction`, all or nothing
 * (transaction.ts). Answers a `batch-response` / `transaction-response` with one entry per
 * request entry, in the same order. It knows nothing of HTTP; the route and the import
 * command both call it.
 *
 * A batch entry runs as a transaction of one entry: its writes are atomic, it may use
 * conditional references, and a `urn:uuid:` reference to another entry is an error (batch
 * entries may not depend on each other, https://hl7.org/fhir/R4/http.html#brules).
 * Entries run one after the other, in order.
 */
import type { Bundle, BundleEntry, BundleEntryResponse } from '@medplum/fhirtypes';
import type { ConditionalContext } from '../conditional.js';
import { allOk, badRequest, OutcomeError, outcomeError } from '../outcomes.js';
import type { Repository } from '../repository.js';
import { atEntry, internalErrorOutcome, statusText } from './entry-error.js';
import { parseEntry, type ParsedEntry } from './entry-request.js';
import type { EntryResult } from './run-entry.js';
import { runTransaction } from './transaction.js';

export interface BundleOptions extends ConditionalContext {
  /** The most entries a Bundle may have (413 beyond). */
  maxEntries: number;
  /** What write entries carry: `return=minimal|representation|OperationOutcome` (the `Prefer` header). */
  prefer?: string | undefined;
  /** A batch entry failed for a reason that is not the client's: log it (the response says only "internal error"). */
  onInternalError?(err: unknown, entryIndex: number): void;
}

export type BundleKind = 'batch' | 'transaction';

/** A batch or transaction Bundle, checked; throws a 400 (or 413) OutcomeError otherwise. */
export function readBundle(body: unknown, maxEntries: number): { kind: BundleKind; entries: unknown[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || (body as { resourceType?: unknown }).resourceType !== 'Bundle') {
    throw badRequest('POST to the FHIR base takes a Bundle of type batch or transaction', 'resourceType');
  }
  const { type, entry } = body as { type?: unknown; entry?: unknown };
  if (type !== 'batch' && type !== 'transaction') {
    throw badRequest('Bundle.type must be batch or transaction', 'Bundle.type');
  }
  if (entry !== undefined && !Array.isArray(entry)) {
    throw badRequest('Bundle.entry must be an array', 'Bundle.entry');
  }
  const entries = (entry as unknown[] | undefined) ?? [];
  if (entries.length > maxEntries) {
    throw outcomeError(413, 'too-costly', `A Bundle may have at most ${maxEntries} entries; this one has ${entries.length}`, 'Bundle.entry');
  }
  return { kind: type, entries };
}

export async function processBundle(repo: Repository, body: unknown, options: BundleOptions): Promise<Bundle> {
  const { kind, entries } = readBundle(body, options.maxEntries);
  const results = kind === 'transaction' ? await runTransactionBundle(repo, entries, options) : await runBatch(repo, entries, options);
  return {
    resourceType: 'Bundle',
    type: `${kind}-response`,
    entry: results.map((result) => responseEntry(result, options)),
  };
}

/** All entries or none: a failing entry throws an EntryError, and nothing is written. */
export async function runTransactionBundle(repo: Repository, entries: unknown[], options: BundleOptions): Promise<EntryResult[]> {
  const parsed: ParsedEntry[] = entries.map((entry, index) => {
    try {
      return parseEntry(entry, index, options.fhirBase);
    } catch (err) {
      throw atEntry(index, err);
    }
  });
  return runTransaction(repo, parsed, options);
}

/** Each entry on its own; a failure becomes that entry's response (a 5xx without details). */
export async function runBatch(repo: Repository, entries: unknown[], options: BundleOptions): Promise<EntryResult[]> {
  const results: EntryResult[] = [];
  for (const [index, entry] of entries.entries()) {
    try {
      const [result] = await runTransaction(repo, [parseEntry(entry, index, options.fhirBase)], options);
      results.push(result as EntryResult);
    } catch (err) {
      const failure = atEntry(index, err);
      if (failure instanceof OutcomeError) {
        results.push({ status: failure.status, body: false, written: false, outcome: failure.outcome });
      } else {
        options.onInternalError?.(err, index);
        results.push({ status: 500, body: false, written: false, outcome: internalErrorOutcome(index) });
      }
    }
  }
  return results;
}

/** One `Bundle.entry` of the response (https://hl7.org/fhir/R4/bundle.html#transaction-response). */
function responseEntry(result: EntryResult, options: BundleOptions): BundleEntry {
  const { resource } = result;
  const response: BundleEntryResponse = { status: statusText(result.status) };
  const meta = resource?.resourceType === 'Bundle' ? undefined : resource?.meta;
  if (result.written && resource && meta?.versionId) {
    response.location = `${resource.resourceType}/${resource.id}/_history/${meta.versionId}`;
  }
  if (meta?.versionId) response.etag = `W/"${meta.versionId}"`;
  if (meta?.lastUpdated) response.lastModified = meta.lastUpdated;
  const prefer = options.prefer ?? '';
  // Prefer applies to what writes return (https://hl7.org/fhir/R4/http.html#ops); reads always carry their resource.
  const minimal = result.written && /return=minimal/.test(prefer);
  const asOutcome = result.written && /return=OperationOutcome/.test(prefer);
  if (result.outcome) {
    response.outcome = result.outcome;
  } else if (asOutcome && resource) {
    response.outcome = allOk(`${resource.resourceType}/${resource.id} saved`);
  }
  const entry: BundleEntry = {};
  if (resource && meta && resource.id) {
    entry.fullUrl = `${options.fhirBase}${resource.resourceType}/${resource.id}`;
  }
  if (resource && result.body && !minimal && !asOutcome) {
    entry.resource = resource;
  }
  entry.response = response;
  return entry;
}
