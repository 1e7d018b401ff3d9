/**
 * Loads FHIR data files into one project, through the same Repository as the API (so the
 * same validation, versioning and search indexing), acting as the system for that project:
 * - `.json`: a transaction or batch Bundle. A transaction file is ONE database transaction:
 *   one bad entry and nothing of that file is written. A batch file's entries stand alone.
 * - `.ndjson`: one resource per line (as FHIR Bulk Data exports them). A resource with an id
 *   keeps it (PUT, so references between files by `Type/id` hold); one without gets a new id.
 *   Lines go in transactions of NDJSON_CHUNK; when one fails, that chunk is redone line by
 *   line, so every good line is written and every bad one reported with its line number.
 * It does not resume an interrupted import: files written before stay written (a second run
 * of the same Bundles would create their resources again; NDJSON with ids would not).
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { RequestContext } from '../auth/request-context.js';
import type { AppDeps } from '../deps.js';
import { runBatch, readBundle, runTransactionBundle, type BundleOptions } from '../fhir/bundle/process-bundle.js';
import { EntryError } from '../fhir/bundle/entry-error.js';
import type { EntryResult } from '../fhir/bundle/run-entry.js';
import { OutcomeError } from '../fhir/outcomes.js';
import { Repository } from '../fhir/repository.js';
import { parseJsonBody } from '../http/json-body.js';

export const NDJSON_CHUNK = 200;

export interface ImportFile {
  path: string;
  /** How it is shown in progress and errors (relative to what the operator named). */
  name: string;
  bytes: number;
}

export interface ImportError {
  file: string;
  /** The Bundle entry (0-based, as `Bundle.entry[i]`), for a Bundle file. */
  entry?: number;
  /** The line (1-based), for an NDJSON file. */
  line?: number;
  message: string;
}

export interface ImportProgress {
  filesDone: number;
  bytesDone: number;
  resources: number;
  errors: number;
}

export interface ImportSummary {
  files: number;
  resources: number;
  errors: ImportError[];
}

export interface ImportRun {
  deps: Pick<AppDeps, 'db' | 'store' | 'clock' | 'random' | 'config'>;
  projectId: string;
  files: ImportFile[];
  onProgress?(progress: ImportProgress): void;
}

/**
 * The caller of an import: the system acting as an admin of the project. No user or login
 * stands behind it; the membership and login are placeholders naming no stored resource.
 * As for a project admin, Project, ProjectMembership and User are refused (the admin API
 * manages them) and the server's own types are out of reach.
 */
export function importContext(projectId: string): RequestContext {
  const system = { reference: 'Device/tessera-import', display: 'tessera import' };
  return {
    projectId,
    membership: { resourceType: 'ProjectMembership', id: 'tessera-import', project: { reference: `Project/${projectId}` }, user: system, profile: system },
    login: { resourceType: 'Login', id: 'tessera-import' } as RequestContext['login'],
    profile: system,
    author: system,
    admin: true,
    superAdmin: false,
  };
}

export async function importFiles(run: ImportRun): Promise<ImportSummary> {
  const repo = new Repository(importContext(run.projectId), run.deps);
  const bundleOptions: BundleOptions = {
    fhirBase: `${run.deps.config.baseUrl}fhir/R4/`,
    random: run.deps.random,
    maxEntries: Number.MAX_SAFE_INTEGER,
  };
  const progress: ImportProgress = { filesDone: 0, bytesDone: 0, resources: 0, errors: 0 };
  const errors: ImportError[] = [];
  const fail = (error: ImportError): void => {
    errors.push(error);
    progress.errors = errors.length;
  };
  const loader = { repo, options: bundleOptions, maxDepth: run.deps.config.jsonMaxDepth, progress, fail, report: () => run.onProgress?.(progress) };
  for (const file of run.files) {
    const bytesBefore = progress.bytesDone;
    const errorsBefore = errors.length;
    if (/\.ndjson$/i.test(file.path)) {
      await importNdjson(loader, file);
    } else if (/\.json$/i.test(file.path)) {
      await importBundleFile(loader, file);
    } else {
      fail({ file: file.name, message: 'not a .json Bundle or an .ndjson file' });
    }
    // NDJSON lines that are not JSON are reported as read, the others when their chunk is written: put them in line order.
    const ofFile = errors.splice(errorsBefore).sort((a, b) => (a.line ?? a.entry ?? 0) - (b.line ?? b.entry ?? 0));
    errors.push(...ofFile);
    progress.filesDone += 1;
    progress.bytesDone = bytesBefore + file.bytes;
    loader.report();
  }
  return { files: run.files.length, resources: progress.resources, errors };
}

interface Loader {
  repo: Repository;
  options: BundleOptions;
  maxDepth: number;
  progress: ImportProgress;
  fail(error: ImportError): void;
  report(): void;
}

async function importBundleFile(loader: Loader, file: ImportFile): Promise<void> {
  let bundle: { kind: 'batch' | 'transaction'; entries: unknown[] };
  try {
    bundle = readBundle(parseJsonBody(await readFile(file.path), loader.maxDepth), Number.MAX_SAFE_INTEGER);
  } catch (err) {
    loader.fail({ file: file.name, message: errorMessage(err) });
    return;
  }
  if (bundle.kind === 'transaction') {
    try {
      loader.progress.resources += countDone(await runTransactionBundle(loader.repo, bundle.entries, loader.options));
    } catch (err) {
      loader.fail({ file: file.name, ...(err instanceof EntryError ? { entry: err.entryIndex } : {}), message: errorMessage(err) });
    }
    return;
  }
  const { results, messages } = await runEachEntry(loader, bundle.entries);
  results.forEach((result, entry) => {
    if (result.status >= 400) {
      loader.fail({ file: file.name, entry, message: messages.get(entry) ?? outcomeMessage(result.outcome) });
    }
  });
}

/**
 * Entries one by one (a batch). Unlike the API, which never shows a server fault's details,
 * the operator running the import sees them: they are on their own machine.
 */
async function runEachEntry(loader: Loader, entries: unknown[]): Promise<{ results: EntryResult[]; messages: Map<number, string> }> {
  const messages = new Map<number, string>();
  const results = await runBatch(loader.repo, entries, { ...loader.options, onInternalError: (err, index) => messages.set(index, errorMessage(err)) });
  loader.progress.resources += countDone(results);
  return { results, messages };
}

interface Line {
  line: number;
  entry: unknown;
}

async function importNdjson(loader: Loader, file: ImportFile): Promise<void> {
  const start = loader.progress.bytesDone;
  let chunk: Line[] = [];
  let number = 0;
  const lines = createInterface({ input: createReadStream(file.path), crlfDelay: Infinity });
  for await (const text of lines) {
    number += 1;
    loader.progress.bytesDone += Buffer.byteLength(text) + 1;
    if (text.trim() === '') {
      continue;
    }
    try {
      chunk.push({ line: number, entry: ndjsonEntry(parseJsonBody(Buffer.from(text), loader.maxDepth)) });
    } catch (err) {
      loader.fail({ file: file.name, line: number, message: errorMessage(err) });
    }
    if (chunk.length >= NDJSON_CHUNK) {
      await importChunk(loader, file, chunk);
      chunk = [];
      loader.report();
    }
  }
  await importChunk(loader, file, chunk);
  loader.progress.bytesDone = start;
}

/** A chunk of lines in one transaction; if it fails, line by line, to keep the good ones. */
async function importChunk(loader: Loader, file: ImportFile, chunk: Line[]): Promise<void> {
  if (chunk.length === 0) {
    return;
  }
  const entries = chunk.map((l) => l.entry);
  try {
    loader.progress.resources += countDone(await runTransactionBundle(loader.repo, entries, loader.options));
    return;
  } catch {
    // Some line failed: find which, and write the others.
  }
  const { results, messages } = await runEachEntry(loader, entries);
  results.forEach((result, i) => {
    if (result.status >= 400) {
      loader.fail({ file: file.name, line: (chunk[i] as Line).line, message: messages.get(i) ?? outcomeMessage(result.outcome, 'line') });
    }
  });
}

/** An NDJSON line as a Bundle entry: PUT when it has an id (kept), POST otherwise. */
function ndjsonEntry(resource: unknown): unknown {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource) || typeof (resource as { resourceType?: unknown }).resourceType !== 'string') {
    throw new Error('a line must be one FHIR resource (a JSON object with a resourceType)');
  }
  const { resourceType, id } = resource as { resourceType: string; id?: unknown };
  return typeof id === 'string'
    ? { request: { method: 'PUT', url: `${resourceType}/${encodeURIComponent(id)}` }, resource }
    : { request: { method: 'POST', url: resourceType }, resource };
}

function countDone(results: EntryResult[]): number {
  return results.filter((r) => r.status < 400).length;
}

/**
 * The issues as one line. The summary already names the entry, so the `Bundle.entry[i]: `
 * before each text goes; for an NDJSON line, whose entry index means nothing to the
 * operator, expressions start at the resource (`resource.birthDate`).
 */
function outcomeMessage(outcome: OperationOutcome | undefined, unit: 'entry' | 'line' = 'entry'): string {
  const issues = outcome?.issue ?? [];
  const expression = (e: string): string => (unit === 'line' ? e.replace(/^Bundle\.entry\[\d+\]\.?/, '') : e);
  return (
    issues
      .map((i) => {
        const text = (i.details?.text ?? i.diagnostics ?? i.code).replace(/^Bundle\.entry\[\d+\]: /, '');
        const where = (i.expression ?? []).map(expression).filter((e) => e !== '');
        return where.length ? `${text} (${where.join(', ')})` : text;
      })
      .join('; ') || 'failed'
  );
}

function errorMessage(err: unknown): string {
  if (err instanceof OutcomeError) {
    return outcomeMessage(err.outcome);
  }
  return err instanceof Error ? err.message : String(err);
}
