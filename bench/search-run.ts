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
import { withClient, type BenchDatabase } from './bench-database.js';
import { loadSeconds, openBenchSession } from './bench-session.js';
import { readArgs, REPO_ROOT, usage } from './cli-options.js';
import { copySeconds, DATA_OPTIONS, readDataSettings } from './data-options.js';
import { describeMachine, readCodeVersion, readLoadAverage } from './machine.js';
import { multiplyData, type MultiplyResult } from './multiply-data.js';
import { explainText } from './query-plans.js';
import { writeResultsFile } from './results-file.js';
import { measureSize, type MeasureContext, type SizeResult } from './search-measure.js';
import { chooseSearchMix, QUERY_KINDS, type QueryKind } from './search-mix.js';
import { renderSearchRun, type SearchBenchRun } from './search-results-file.js';
import { issueToken, startTessera, type RunningServer } from './servers.js';
import { importSynthea, type ImportMode } from './synthea-import.js';

const args = readArgs({
  ...DATA_OPTIONS,
  queries: { type: 'string', default: QUERY_KINDS.join(',') },
  'import-mode': { type: 'string' },
});
const { settings, scale, importConcurrency, copiesPerStep, syntheaDir, paths } = readDataSettings(args);
const importMode = args['import-mode'] as ImportMode | undefined;
if (importMode !== undefined && importMode !== 'transaction' && importMode !== 'entries') usage('--import-mode is transaction or entries');
const kinds = args.queries.split(',').map((k) => k.trim()) as QueryKind[];
for (const kind of kinds) if (!QUERY_KINDS.includes(kind)) usage(`Unknown query "${kind}"; known: ${QUERY_KINDS.join(', ')}`);

// The time bound: the import, each size's queries (warm-up and measured seconds on both servers,
// plus room for plans and the floor's start), and with --scale, generously, the copy.
const perSize = loadSeconds(settings, kinds.length * 2) + 180;
const budgetSeconds = 600 + perSize * (scale ? 2 : 1) + copySeconds(scale);
const session = openBenchSession({ name: 'bench:search', budgetSeconds, keepDatabase: args['keep-database'] });
const { log } = session;

const loadAverages: Array<[string, number]> = [];
function noteLoad(when: string): void {
  loadAverages.push([when, readLoadAverage()]);
}

function vacuumAnalyze(url: string): Promise<number> {
  return withClient(url, async (client) => {
    const t0 = performance.now();
    await client.query('VACUUM (ANALYZE)');
    return (performance.now() - t0) / 1000;
  });
}

async function startTesseraWithToken(db: BenchDatabase): Promise<{ tessera: RunningServer; token: string; projectId: string }> {
  const tessera = await startTessera(paths, db);
  session.track(tessera.child);
  const { accessToken, projectId } = await issueToken(paths, db, tessera);
  log(`Tessera is up at ${tessera.origin} (pid ${tessera.child.pid}), project ${projectId}`);
  return { tessera, token: accessToken, projectId };
}

async function main(): Promise<number> {
  const code = readCodeVersion(REPO_ROOT);
  noteLoad('at the start');
  log(`Commit ${code.commit}; load average ${readLoadAverage().toFixed(2)}; time budget ${budgetSeconds} s`);
  const db = await session.createDatabase(args.postgres);
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
    track: (server) => session.track(server.child),
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
    const planText = await withClient(db.url, (client) => explainText(client, slowestResult.statements));
    slowest = { size: largest.label, result: slowestResult, planText };
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
  session.saveResults(args['no-write'], (path) => writeResultsFile(path, { searchRun: renderSearchRun(run) }));
  return session.exitCodeFor(sizes.flatMap((s) => s.queries).reduce((n, q) => n + q.tessera.failures + q.floor.failures, 0));
}

function formatMillions(n: number): string {
  return n >= 1_000_000 ? `${Number((n / 1_000_000).toFixed(1))}M` : `${Math.round(n / 1000)}k`;
}

await session.run(main);
