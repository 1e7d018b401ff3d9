/**
 * Import throughput: the Synthea transaction Bundles (../shared/data/synthea) loaded into
 * Tessera through its HTTP API, the way a client would, timed from the first request to the
 * last answer. Each file is POSTed to `/fhir/R4` as the transaction it is (with
 * `Prefer: return=minimal`, as a bulk loader would ask), a few files at a time.
 *
 * If the server does not take transaction Bundles (404, 405 or 501 on the first one), the
 * entries are created one by one instead (POST /fhir/R4/{type}), each `urn:uuid:` reference
 * rewritten to the id the server gave the entry it names; the result says which way was used.
 *
 * It returns the `Type/id` of every resource it created: the search mix picks its values
 * from them and the 1M generator copies exactly those (multiply-data.ts).
 * It does not check the resources' content; the search tests do (search-synthea.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';

export type ImportMode = 'transaction' | 'entries';

export interface CreatedResource {
  resourceType: string;
  id: string;
}

export interface ImportResult {
  mode: ImportMode;
  files: number;
  resources: number;
  seconds: number;
  resourcesPerSecond: number;
  /** Files sent at once. */
  concurrency: number;
  /** Slowest single request (a whole Bundle, or one entry), in ms. */
  slowestRequestMs: number;
  created: CreatedResource[];
}

export interface ImportOptions {
  origin: string;
  token: string;
  dataDir: string;
  concurrency: number;
  /** Mode to use; by default a transaction, falling back to entries when the server has none. */
  mode?: ImportMode;
  log: (line: string) => void;
}

const FHIR_JSON = 'application/fhir+json';
const REQUEST_TIMEOUT_MS = 120_000;

export function listBundleFiles(dataDir: string): string[] {
  return readdirSync(dataDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dataDir, f));
}

class NoTransactions extends Error {}

export async function importSynthea(options: ImportOptions): Promise<ImportResult> {
  const files = listBundleFiles(options.dataDir);
  if (files.length === 0) {
    throw new Error(`No .json files in ${options.dataDir}`);
  }
  // Files are read before the clock starts: the figure is the server's, not the disk's.
  const bundles = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Bundle);
  let mode: ImportMode = options.mode ?? 'transaction';
  const created: CreatedResource[] = [];
  let slowest = 0;
  let done = 0;
  let next = 0;
  const started = performance.now();
  const sendOne = async (bundle: Bundle): Promise<void> => {
    const t0 = performance.now();
    const resources = mode === 'transaction' ? await postTransaction(options, bundle) : await postEntries(options, bundle, (ms) => (slowest = Math.max(slowest, ms)));
    if (mode === 'transaction') slowest = Math.max(slowest, performance.now() - t0);
    created.push(...resources);
    done++;
    if (done % 10 === 0 || done === bundles.length) {
      const seconds = (performance.now() - started) / 1000;
      options.log(`  imported ${done}/${bundles.length} files, ${created.length} resources, ${(created.length / seconds).toFixed(0)} resources/s`);
    }
  };
  // The first file alone, to learn whether transactions are served before sending the rest in parallel.
  const first = bundles[next++] as Bundle;
  try {
    await sendOne(first);
  } catch (err) {
    if (!(err instanceof NoTransactions)) throw err;
    options.log('  the server takes no transaction Bundles: creating the entries one by one');
    mode = 'entries';
    await sendOne(first);
  }
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < bundles.length) await sendOne(bundles[next++] as Bundle);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    mode,
    files: bundles.length,
    resources: created.length,
    seconds,
    resourcesPerSecond: created.length / seconds,
    concurrency: options.concurrency,
    slowestRequestMs: slowest,
    created,
  };
}

async function post(options: ImportOptions, path: string, body: unknown): Promise<{ status: number; json: unknown; location: string | null }> {
  const response = await fetch(`${options.origin}/fhir/R4${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${options.token}`, 'content-type': FHIR_JSON, accept: FHIR_JSON, prefer: 'return=minimal' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as unknown) : undefined, location: response.headers.get('location') };
}

/** One transaction; the created resources from the response's `location`s (`Type/id/_history/v`). */
async function postTransaction(options: ImportOptions, bundle: Bundle): Promise<CreatedResource[]> {
  const { status, json } = await post(options, '', bundle);
  if (status === 404 || status === 405 || status === 501) {
    throw new NoTransactions();
  }
  const response = json as Bundle | undefined;
  if (status !== 200 || response?.resourceType !== 'Bundle') {
    throw new Error(`A transaction answered ${status}: ${JSON.stringify(json).slice(0, 2000)}`);
  }
  return (response.entry ?? []).map((entry, i) => {
    const [resourceType, id] = (entry.response?.location ?? '').split('/');
    if (!resourceType || !id) {
      throw new Error(`Transaction response entry ${i} has no location: ${JSON.stringify(entry)}`);
    }
    return { resourceType, id };
  });
}

/** The fallback: every entry created on its own, in file order, references rewritten as they go. */
async function postEntries(options: ImportOptions, bundle: Bundle, onRequest: (ms: number) => void): Promise<CreatedResource[]> {
  const serverRef = new Map<string, string>();
  const created: CreatedResource[] = [];
  for (const entry of bundle.entry ?? []) {
    const resource = entry.resource as Resource;
    const t0 = performance.now();
    const { status, json, location } = await post(options, `/${resource.resourceType}`, rewriteReferences({ ...resource, id: undefined }, serverRef));
    onRequest(performance.now() - t0);
    // With return=minimal the id is in the Location header (.../Type/id/_history/v) only.
    const id = (json as Resource | undefined)?.id ?? location?.match(/\/([^/]+)\/_history\//)?.[1];
    if (status !== 201 || !id) {
      throw new Error(`Creating a ${resource.resourceType} answered ${status}: ${JSON.stringify(json).slice(0, 2000)}`);
    }
    if (entry.fullUrl) serverRef.set(entry.fullUrl, `${resource.resourceType}/${id}`);
    created.push({ resourceType: resource.resourceType, id });
  }
  return created;
}

function rewriteReferences(value: unknown, serverRef: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, serverRef));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const target = key === 'reference' && typeof v === 'string' ? serverRef.get(v) : undefined;
    out[key] = target ?? rewriteReferences(v, serverRef);
  }
  return out;
}
