/**
 * `npm run bench:search`: import throughput and the search mix (issue 3, "Speed"), on a
 * throwaway PostgreSQL database, written to the search section of bench/RESULTS.md.
 *   1. Tessera on an empty database; the Synthea Bundles imported through the API (timed);
 *      VACUUM (ANALYZE).
 *   2. The search mix at the Synthea size: Tessera against the floor (search-measure.ts).
 *   3. With `--scale N`: both servers stopped, the data copied in SQL to at least N resources
 *      (multiply-data.ts), Tessera restarted, the mix measured again; the slowest query at
 *      that size EXPLAINed in full.
 * Every step is bounded by one watchdog; children are killed, temporary files removed and the
 * database dropped on any exit (unless --keep-database). Traffic goes to 127.0.0.1 only.
 * Options: bench/README.md.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createBenchDatabase, type BenchDatabase } from './bench-database.js';
import { killAllChildren, type Child } from './child-processes.js';
import { describeMachine, readCodeVersion, readLoadAverage } from './machine.js';
import { multiplyData, type MultiplyResult } from './multiply-data.js';
import { explainText } from './query-plans.js';
import { writeResultsFile } from './results-file.js';
import { measureSize, type MeasureContext, type SizeResult } from './search-measure.js';
import { chooseSearchMix, QUERY_KINDS, type QueryKind } from './search-mix.js';
import { renderSearchRun, type SearchBenchRun } from './search-results-file.js';
import { issueToken, startTessera, type Paths, type RunningServer } from './servers.js';
import { importSynthea, type ImportMode } from './synthea-import.js';

function usage(message: string): never {
  console.error(`${message}\nOptions are described in bench/README.md.`);
  process.exit(2);
}

const OPTIONS = {
  scale: { type: 'string', default: '0' },
  duration: { type: 'string', default: '6' },
  warmup: { type: 'string', default: '2' },
  rounds: { type: 'string', default: '3' },
  connections: { type: 'string', default: '10' },
  queries: { type: 'string', default: QUERY_KINDS.join(',') },
  'import-concurrency': { type: 'string', default: '2' },
  'import-mode': { type: 'string' },
  'copies-per-step': { type: 'string', default: '4' },
  synthea: { type: 'string' },
  postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  'server-dir': { type: 'string', default: 'packages/server' },
  'no-write': { type: 'boolean', default: false },
  'keep-database': { type: 'boolean', default: false },
} as const;

function readArgs(): ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'] {
  try {
    return parseArgs({ options: OPTIONS }).values;
  } catch (err) {
    return usage((err as Error).message);
  }
}

function whole(value: string, name: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) usage(`--${name} must be a whole number of at least ${min}`);
  return n;
}

const args = readArgs();
const settings = {
  durationSeconds: whole(args.duration, 'duration', 1),
  warmupSeconds: whole(args.warmup, 'warmup', 0),
  rounds: whole(args.rounds, 'rounds', 1),
  connections: whole(args.connections, 'connections', 1),
};
if (settings.durationSeconds / settings.rounds < 1) usage('--rounds must leave at least 1 s per round (--duration / --rounds)');
const scale = whole(args.scale, 'scale', 0) || undefined;
const importConcurrency = whole(args['import-concurrency'], 'import-concurrency', 1);
const copiesPerStep = whole(args['copies-per-step'], 'copies-per-step', 1);
const importMode = args['import-mode'] as ImportMode | undefined;
if (importMode !== undefined && importMode !== 'transaction' && importMode !== 'entries') usage('--import-mode is transaction or entries');
const kinds = args.queries.split(',').map((k) => k.trim()) as QueryKind[];
for (const kind of kinds) if (!QUERY_KINDS.includes(kind)) usage(`Unknown query "${kind}"; known: ${QUERY_KINDS.join(', ')}`);

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const paths: Paths = { repoRoot, serverDir: resolve(repoRoot, args['server-dir']) };
const syntheaDir = resolve(repoRoot, args.synthea ?? '../shared/data/synthea');
const startedAt = performance.now();

function log(line: string): void {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(6);
  console.log(`[bench:search ${seconds}s] ${line}`);
}

let database: BenchDatabase | undefined;
const servers: Child[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    killAllChildren();
    if (database && args['keep-database']) {
      log(`Keeping database ${database.name} (--keep-database): drop it with DROP DATABASE ${database.name} WITH (FORCE)`);
    } else if (database) {
      log(`Dropping database ${database.name}`);
      await database.drop().catch((err: Error) => log(`Could not drop ${database?.name}: ${err.message}`));
    }
  })();
  return cleaning;
}

function abort(reason: string, code: number): void {
  log(reason);
  setTimeout(() => process.exit(code), 20_000).unref();
  void cleanup().finally(() => process.exit(code));
}

process.once('SIGINT', () => abort('Interrupted; cleaning up', 130));
process.once('SIGTERM', () => abort('Terminated; cleaning up', 143));

// The time bound: the import, each size's queries (warm-up and measured seconds on both servers,
// plus room for autocannon, plans and the floor's start), and with --scale, generously, the copy.
const perSize = kinds.length * 2 * (settings.warmupSeconds + settings.durationSeconds + settings.rounds + 5) + 180;
const generationSeconds = scale ? Math.max(1200, Math.ceil(scale / 1000)) * 3 : 0;
const budgetSeconds = 600 + perSize * (scale ? 2 : 1) + generationSeconds;
const watchdog = setTimeout(() => abort(`Time limit of ${budgetSeconds} s reached; stopping`, 1), budgetSeconds * 1000);

const loadAverages: Array<[string, number]> = [];
function noteLoad(when: string): void {
  loadAverages.push([when, readLoadAverage()]);
}

async function vacuumAnalyze(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const t0 = performance.now();
    await client.query('VACUUM (ANALYZE)');
    return (performance.now() - t0) / 1000;
  } finally {
    await client.end();
  }
}

async function startTesseraWithToken(db: BenchDatabase): Promise<{ tessera: RunningServer; token: string; projectId: string }> {
  const tessera = await startTessera(paths, db);
  servers.push(tessera.child);
  const { accessToken, projectId } = await issueToken(paths, db, tessera);
  log(`Tessera is up at ${tessera.origin} (pid ${tessera.child.pid}), project ${projectId}`);
  return { tessera, token: accessToken, projectId };
}

async function main(): Promise<number> {
  const code = readCodeVersion(repoRoot);
  noteLoad('at the start');
  log(`Commit ${code.commit}; load average ${readLoadAverage().toFixed(2)}; time budget ${budgetSeconds} s`);
  const db = (database = await createBenchDatabase(args.postgres));
  log(`Created database ${db.name} (PostgreSQL ${db.serverVersion})`);
  let { tessera, token, projectId } = await startTesseraWithToken(db);

  log(`Importing ${syntheaDir}`);
  const imported = await importSynthea({ origin: tessera.origin, token, dataDir: syntheaDir, concurrency: importConcurrency, mode: importMode, log });
  log(`Imported ${imported.resources} resources from ${imported.files} files in ${imported.seconds.toFixed(1)} s: ` +
    `${imported.resourcesPerSecond.toFixed(0)} resources/s (${imported.mode})`);
  noteLoad('after the import');
  const analyzeSeconds = await vacuumAnalyze(db.url);
  log(`VACUUM (ANALYZE) in ${analyzeSeconds.toFixed(1)} s`);

  const ids = new Map<string, string[]>();
  for (const c of imported.created) ids.set(c.resourceType, [...(ids.get(c.resourceType) ?? []), c.id]);
  const mix = (await chooseSearchMix(db.url, projectId, ids)).filter((q) => kinds.includes(q.kind));
  const context = (): MeasureContext => ({
    paths, db, tessera, token, projectId, settings, log, readLoadAverage,
    track: (server) => servers.push(server.child),
  });
  const sizes: SizeResult[] = [];
  log(`Search mix on the Synthea set`);
  sizes.push(await measureSize('Synthea', mix, context()));
  noteLoad('after the Synthea searches');

  let generation: MultiplyResult | undefined;
  if (scale) {
    await tessera.child.stop();
    generation = await multiplyData({ databaseUrl: db.url, projectId, created: imported.created, targetResources: scale, copiesPerStep, log });
    noteLoad('after generating');
    // A fresh server: no plan or connection state carried over from the small set; a fresh token too.
    ({ tessera, token, projectId } = await startTesseraWithToken(db));
    const label = formatMillions(generation.resources);
    log(`Search mix on the ${label}`);
    sizes.push(await measureSize(label, mix, context()));
    noteLoad('at the end');
  }

  const largest = sizes[sizes.length - 1] as SizeResult;
  const slowestResult = [...largest.queries].sort((a, b) => b.tessera.p50Ms - a.tessera.p50Ms)[0];
  let slowest: SearchBenchRun['slowest'];
  if (slowestResult) {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      slowest = { size: largest.label, result: slowestResult, planText: await explainText(client, slowestResult.statements) };
    } finally {
      await client.end();
    }
  }
  await tessera.child.stop();

  const { created: _created, ...importSummary } = imported;
  const run: SearchBenchRun = {
    date: new Date(),
    code,
    machine: describeMachine(db.serverVersion),
    settings: { ...settings, scale },
    import: importSummary,
    analyzeSeconds,
    generation,
    sizes,
    loadAverages,
    slowest,
  };
  if (args['no-write']) {
    log('Not writing RESULTS.md (--no-write)');
  } else {
    const path = join(repoRoot, 'bench/RESULTS.md');
    writeResultsFile(path, { searchRun: renderSearchRun(run) });
    log(`Wrote ${path}`);
  }
  const failures = sizes.flatMap((s) => s.queries).reduce((n, q) => n + q.tessera.failures + q.floor.failures, 0);
  if (failures > 0) {
    log(`${failures} requests failed: the figures above are not trustworthy`);
    return 1;
  }
  return 0;
}

function formatMillions(n: number): string {
  return n >= 1_000_000 ? `${Number((n / 1_000_000).toFixed(1))}M` : `${Math.round(n / 1000)}k`;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  log(`Failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  clearTimeout(watchdog);
  await cleanup();
  log(`Done in ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);
}
process.exit(exitCode);
