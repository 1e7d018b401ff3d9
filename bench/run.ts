/**
 * `npm run bench`: measures Tessera against the floor (bench/floor.ts) on a throwaway
 * PostgreSQL database, then the embedded start, and writes bench/RESULTS.md.
 * Every step is bounded in time; children are killed and the database dropped on any exit.
 * Traffic goes to 127.0.0.1 only. See bench/README.md for the options and scenarios.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBenchDatabase, type BenchDatabase } from './bench-database.js';
import { killAllChildren, type Child } from './child-processes.js';
import { measureEmbeddedStart, type EmbeddedStart } from './embedded-start.js';
import { measureAlternating, type LoadRequest, type LoadTarget } from './load.js';
import { describeMachine, readCodeVersion, readLoadAverage } from './machine.js';
import { writeResults, type BenchRun, type ScenarioResult } from './results-file.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { checkSameAnswer, freePort, issueToken, seedPatients, startFloor, startTessera, type Paths } from './servers.js';

type ServerName = 'tessera' | 'floor';

const AIMS = { readyMs: 3000, idleRssMB: 250 };

/** A bad option ends the run before it starts anything, with a message rather than a stack. */
function usage(message: string): never {
  console.error(`${message}\nOptions are described in bench/README.md.`);
  process.exit(2);
}

const OPTIONS = {
  duration: { type: 'string', default: '10' },
  warmup: { type: 'string', default: '3' },
  rounds: { type: 'string', default: '5' },
  connections: { type: 'string', default: '10' },
  patients: { type: 'string', default: '100' },
  scenarios: { type: 'string', default: SCENARIOS.map((s) => s.key).join(',') },
  postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  'server-dir': { type: 'string', default: 'packages/server' },
  'skip-embedded': { type: 'boolean', default: false },
  'no-write': { type: 'boolean', default: false },
} as const;

function readArgs(): ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'] {
  try {
    return parseArgs({ options: OPTIONS }).values;
  } catch (err) {
    return usage((err as Error).message);
  }
}

const args = readArgs();

function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) usage(`--${name} must be a positive number`);
  return n;
}

const settings = {
  durationSeconds: positive(args.duration, 'duration'),
  warmupSeconds: args.warmup === '0' ? 0 : positive(args.warmup, 'warmup'),
  rounds: positive(args.rounds, 'rounds'),
  connections: positive(args.connections, 'connections'),
  seededPatients: positive(args.patients, 'patients'),
};
if (!Number.isInteger(settings.rounds) || settings.durationSeconds / settings.rounds < 1) {
  usage('--rounds must be a whole number that leaves at least 1 s per round (--duration / --rounds)');
}
const chosen = args.scenarios.split(',').map((key) => {
  const scenario = SCENARIOS.find((s) => s.key === key.trim());
  if (!scenario) usage(`Unknown scenario "${key}"; known: ${SCENARIOS.map((s) => s.key).join(', ')}`);
  return scenario;
});
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const paths: Paths = { repoRoot, serverDir: resolve(repoRoot, args['server-dir']) };
const startedAt = performance.now();

function log(line: string): void {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(5);
  console.log(`[bench ${seconds}s] ${line}`);
}

// Cleanup runs once, whichever way the run ends: normally, on error, on a signal or the watchdog.
let database: BenchDatabase | undefined;
const servers: Child[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    killAllChildren();
    if (database) {
      log(`Dropping database ${database.name}`);
      await database.drop().catch((err: Error) => log(`Could not drop ${database?.name}: ${err.message}`));
    }
  })();
  return cleaning;
}

function abort(reason: string, code: number): void {
  log(reason);
  setTimeout(() => process.exit(code), 15_000).unref();
  void cleanup().finally(() => process.exit(code));
}

process.once('SIGINT', () => abort('Interrupted; cleaning up', 130));
process.once('SIGTERM', () => abort('Terminated; cleaning up', 143));

// The whole run's time bound: per scenario, a warm-up and the measured seconds for each server,
// plus generous room for autocannon's start and stop, starting servers, seeding and the embedded starts.
const budgetSeconds = chosen.length * 2 * (settings.warmupSeconds + settings.durationSeconds + settings.rounds + 5) + 240;
const watchdog = setTimeout(() => abort(`Time limit of ${budgetSeconds} s reached; stopping`, 1), budgetSeconds * 1000);

async function runScenario(scenario: Scenario, targets: Record<ServerName, LoadTarget>, request: LoadRequest): Promise<ScenarioResult> {
  log(`Scenario: ${scenario.title}`);
  const { tessera, floor, roundRatios } = await measureAlternating(targets, request, settings, log);
  log(`  Tessera ÷ floor: ${(tessera.requestsPerSecond / floor.requestsPerSecond).toFixed(2)} (aim ≥ ${scenario.aimRatio})`);
  return { title: scenario.title, aimRatio: scenario.aimRatio, tessera, floor, roundRatios };
}

/** Both servers up on a fresh database, with a token and Patients to read; then every scenario. */
async function measureScenarios(db: BenchDatabase): Promise<ScenarioResult[]> {
  const tessera = await startTessera(paths, db);
  servers.push(tessera.child);
  log(`Tessera is up at ${tessera.origin} (pid ${tessera.child.pid})`);
  const { accessToken, projectId } = await issueToken(paths, db, tessera);
  log(`Got an access token for project ${projectId}`);
  const ids = await seedPatients(tessera, accessToken, settings.seededPatients);
  log(`Created ${ids.length} Patients`);
  const floor = await startFloor(paths, db, projectId);
  servers.push(floor.child);
  log(`Floor is up at ${floor.origin} (pid ${floor.child.pid})`);
  await checkSameAnswer([tessera, floor], accessToken, ids[0] as string);

  let next = 0;
  const context = { token: accessToken, nextId: () => ids[next++ % ids.length] as string };
  const targets = { tessera: { origin: tessera.origin, pid: tessera.child.pid }, floor: { origin: floor.origin, pid: floor.child.pid } };
  const results: ScenarioResult[] = [];
  for (const scenario of chosen) {
    results.push(await runScenario(scenario, targets, scenario.request(context)));
  }
  await Promise.all([tessera.child.stop(), floor.child.stop()]);
  return results;
}

async function measureEmbedded(): Promise<EmbeddedStart[]> {
  if (args['skip-embedded']) {
    return [];
  }
  log('Embedded start (PGlite, no DATABASE_URL)');
  return measureEmbeddedStart({ repoRoot, serverEntry: join(paths.serverDir, 'src/main.ts'), port: freePort, idleMs: 2000, timeoutMs: 60_000, log });
}

async function main(): Promise<number> {
  const code = readCodeVersion(repoRoot);
  const loadBefore = readLoadAverage();
  log(`Commit ${code.commit}${code.changedFiles ? ` (${code.changedFiles} files changed)` : ''}; load average ${loadBefore.toFixed(2)}; time budget ${budgetSeconds} s`);
  database = await createBenchDatabase(args.postgres);
  log(`Created database ${database.name} (PostgreSQL ${database.serverVersion})`);
  const scenarios = await measureScenarios(database);
  const loadAfter = readLoadAverage();
  const embedded = await measureEmbedded();

  const run: BenchRun = {
    date: new Date(),
    code,
    machine: describeMachine(database.serverVersion),
    loadAverage: { before: loadBefore, after: loadAfter },
    settings,
    scenarios,
    embedded,
    aims: AIMS,
  };
  if (args['no-write']) {
    log('Not writing RESULTS.md (--no-write)');
  } else {
    const path = join(repoRoot, 'bench/RESULTS.md');
    writeResults(path, run);
    log(`Wrote ${path}`);
  }
  const failures = scenarios.reduce((n, s) => n + s.tessera.failures + s.floor.failures, 0);
  if (failures > 0) {
    log(`${failures} requests failed: the figures above are not trustworthy`);
    return 1;
  }
  return 0;
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
