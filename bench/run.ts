/**
 * `npm run bench`: measures Tessera against the floor (bench/floor.ts) on a throwaway
 * PostgreSQL database, then the embedded start, and writes bench/RESULTS.md.
 * Every step is bounded in time; children are killed and the database dropped on any exit.
 * Traffic goes to 127.0.0.1 only. See bench/README.md for the options and scenarios.
 */
import { join } from 'node:path';
import type { BenchDatabase } from './bench-database.js';
import { loadSeconds, openBenchSession } from './bench-session.js';
import { positive, readArgs, REPO_ROOT, SERVER_OPTIONS, serverPaths, usage } from './cli-options.js';
import { measureEmbeddedStart, type EmbeddedStart } from './embedded-start.js';
import { measureAlternating, type LoadRequest, type LoadTarget } from './load.js';
import { describeMachine, readCodeVersion, readLoadAverage } from './machine.js';
import { writeResults, type BenchRun, type ScenarioResult } from './results-file.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { checkSameAnswer, freePort, issueToken, seedPatients, startFloor, startTessera } from './servers.js';

type ServerName = 'tessera' | 'floor';

const AIMS = { readyMs: 3000, idleRssMB: 250 };

const args = readArgs({
  duration: { type: 'string', default: '10' },
  warmup: { type: 'string', default: '3' },
  rounds: { type: 'string', default: '5' },
  connections: { type: 'string', default: '10' },
  patients: { type: 'string', default: '100' },
  scenarios: { type: 'string', default: SCENARIOS.map((s) => s.key).join(',') },
  ...SERVER_OPTIONS,
  'skip-embedded': { type: 'boolean', default: false },
});

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
const paths = serverPaths(args['server-dir']);

// The whole run's time bound: per scenario, a warm-up and the measured seconds for each server,
// plus generous room for starting servers, seeding and the embedded starts.
const budgetSeconds = loadSeconds(settings, chosen.length * 2) + 240;
const session = openBenchSession({ name: 'bench', budgetSeconds, secondsWidth: 5, abortGraceMs: 15_000 });
const { log } = session;

async function runScenario(scenario: Scenario, targets: Record<ServerName, LoadTarget>, request: LoadRequest): Promise<ScenarioResult> {
  log(`Scenario: ${scenario.title}`);
  const { tessera, floor, roundRatios } = await measureAlternating(targets, request, settings, log);
  log(`  Tessera ÷ floor: ${(tessera.requestsPerSecond / floor.requestsPerSecond).toFixed(2)} (aim ≥ ${scenario.aimRatio})`);
  return { title: scenario.title, aimRatio: scenario.aimRatio, tessera, floor, roundRatios };
}

/** Both servers up on a fresh database, with a token and Patients to read; then every scenario. */
async function measureScenarios(db: BenchDatabase): Promise<ScenarioResult[]> {
  const tessera = await startTessera(paths, db);
  session.track(tessera.child);
  log(`Tessera is up at ${tessera.origin} (pid ${tessera.child.pid})`);
  const { accessToken, projectId } = await issueToken(paths, db, tessera);
  log(`Got an access token for project ${projectId}`);
  const ids = await seedPatients(tessera, accessToken, settings.seededPatients);
  log(`Created ${ids.length} Patients`);
  const floor = await startFloor(paths, db, projectId);
  session.track(floor.child);
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
  return measureEmbeddedStart({ repoRoot: REPO_ROOT, serverEntry: join(paths.serverDir, 'src/main.ts'), port: freePort, idleMs: 2000, timeoutMs: 60_000, log });
}

async function main(): Promise<number> {
  const code = readCodeVersion(REPO_ROOT);
  const loadBefore = readLoadAverage();
  log(`Commit ${code.commit}${code.changedFiles ? ` (${code.changedFiles} files changed)` : ''}; load average ${loadBefore.toFixed(2)}; time budget ${budgetSeconds} s`);
  const database = await session.createDatabase(args.postgres);
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
  session.saveResults(args['no-write'], (path) => writeResults(path, run));
  return session.exitCodeFor(scenarios.reduce((n, s) => n + s.tessera.failures + s.floor.failures, 0));
}

await session.run(main);
