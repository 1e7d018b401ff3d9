/**
 * bench/RESULTS.md: the newest run at the top, the few before it under "Previous runs".
 * Each run is a block between `<!-- bench-run -->` markers, so older runs are carried over
 * verbatim without parsing their tables back; anything else in the file is rewritten.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { EmbeddedStart } from './embedded-start.js';
import type { LoadResult } from './load.js';
import type { CodeVersion, Machine } from './machine.js';

export interface ScenarioResult {
  title: string;
  /** Tessera req/s over floor req/s that the project aims for. */
  aimRatio: number;
  tessera: LoadResult;
  floor: LoadResult;
  /** Tessera req/s over floor req/s in each round: their spread shows how noisy the run was. */
  roundRatios: number[];
}

export interface BenchRun {
  date: Date;
  code: CodeVersion;
  machine: Machine;
  loadAverage: { before: number; after: number };
  settings: { connections: number; durationSeconds: number; rounds: number; warmupSeconds: number; seededPatients: number };
  scenarios: ScenarioResult[];
  embedded: EmbeddedStart[];
  aims: { readyMs: number; idleRssMB: number };
}

const START = '<!-- bench-run -->';
const END = '<!-- /bench-run -->';
const KEEP_PREVIOUS = 4;

const HOW_TO_READ = `## How to read this

Each scenario runs against Tessera and against the *floor* (bench/floor.ts): a bare Fastify
server on the same driver, pool size and database, running the same SQL with no
authentication, validation or access checks. The two are measured in alternating rounds (two
seconds each by default), so both see the same background load. The **ratio** (Tessera req/s
÷ floor req/s) is the figure to compare between runs, and the spread of the per-round ratios
shows how far to trust it; absolute req/s move with whatever else the shared 2-core machine
is doing (see the load average). The client (autocannon) and PostgreSQL share those cores,
which narrows the gap in req/s. *Server CPU / req*, the CPU time the server process itself
used per answered request (from /proc, all threads), does not count waiting for a core and
shows more directly how much work Tessera adds per request. Latencies are every answered
request's, all rounds pooled, at a fixed number of connections, so they mostly mirror
throughput. Embedded start is the time from spawning \`node --import tsx
packages/server/src/main.ts\` on PGlite (no \`DATABASE_URL\`) to the first 200 from
/healthz, and the process's resident memory (VmRSS) two seconds later.`;

function formatNumber(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function formatMs(value: number): string {
  return `${formatNumber(value, value < 10 ? 2 : 1)} ms`;
}

function formatCpu(value: number | undefined): string {
  return value === undefined ? 'n/a' : `${formatNumber(value)} µs`;
}

function times(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? '' : `${formatNumber(a / b, 2)}×`;
}

function renderScenario(s: ScenarioResult): string {
  const row = (name: string, r: LoadResult): string =>
    `| ${name} | ${formatNumber(r.requestsPerSecond)} | ${formatMs(r.p50Ms)} | ${formatMs(r.p99Ms)} | ${formatCpu(r.serverCpuMicrosPerRequest)} | ${formatNumber(r.requests)} | ${r.failures} |`;
  const ratio = s.floor.requestsPerSecond === 0 ? 0 : s.tessera.requestsPerSecond / s.floor.requestsPerSecond;
  const verdict = ratio >= s.aimRatio ? 'met' : 'not met';
  const spread = s.roundRatios.length > 1 ? ` (rounds: ${formatNumber(Math.min(...s.roundRatios), 2)} to ${formatNumber(Math.max(...s.roundRatios), 2)})` : '';
  return [
    `#### ${s.title}`,
    '',
    '| | req/s | p50 | p99 | server CPU / req | requests | failures |',
    '|---|---:|---:|---:|---:|---:|---:|',
    row('Tessera', s.tessera),
    row('Floor', s.floor),
    `| **Tessera ÷ floor** | **${formatNumber(ratio, 2)}** | ${times(s.tessera.p50Ms, s.floor.p50Ms)} | ${times(s.tessera.p99Ms, s.floor.p99Ms)} | ${times(s.tessera.serverCpuMicrosPerRequest, s.floor.serverCpuMicrosPerRequest)} | | |`,
    '',
    `Throughput ratio ${formatNumber(ratio, 2)}${spread}; aim ≥ ${formatNumber(s.aimRatio, 2)}: ${verdict}.`,
  ].join('\n');
}

function renderEmbedded(run: BenchRun): string {
  if (run.embedded.length === 0) {
    return '#### Embedded start (PGlite)\n\nNot measured in this run.';
  }
  const rows = run.embedded.map((e) => {
    const rss = e.idleRssMB === undefined ? 'n/a' : `${formatNumber(e.idleRssMB)} MB`;
    return `| ${e.label} | ${formatNumber(e.readyMs)} ms | ${rss} |`;
  });
  const slowest = Math.max(...run.embedded.map((e) => e.readyMs));
  const largest = Math.max(...run.embedded.map((e) => e.idleRssMB ?? Infinity));
  return [
    '#### Embedded start (PGlite)',
    '',
    '| DATA_DIR | spawn → /healthz 200 | idle RSS |',
    '|---|---:|---:|',
    ...rows,
    '',
    `Aims: ready within ${formatNumber(run.aims.readyMs)} ms (${slowest <= run.aims.readyMs ? 'met' : 'not met'}), ` +
      `RSS under ${run.aims.idleRssMB} MB (${largest < run.aims.idleRssMB ? 'met' : 'not met'}).`,
  ].join('\n');
}

export function renderRun(run: BenchRun): string {
  const m = run.machine;
  const tree = run.code.changedFiles === 0 ? 'clean tree' : `working tree dirty: ${run.code.changedFiles} files changed or untracked`;
  const s = run.settings;
  return [
    START,
    `### ${run.date.toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${run.code.commit} (${tree})`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${formatNumber(m.memoryGiB, 1)} GiB, Node ${m.node}, PostgreSQL ${m.postgres}. ` +
      `Load average (1 min): ${formatNumber(run.loadAverage.before, 2)} before, ${formatNumber(run.loadAverage.after, 2)} after.`,
    '',
    `Settings: ${s.connections} connections; per server and scenario a ${s.warmupSeconds} s warm-up, then ${s.durationSeconds} s measured ` +
      `in ${s.rounds} rounds alternating with the other server; reads spread over ${s.seededPatients} Patients.`,
    '',
    ...run.scenarios.flatMap((scenario) => [renderScenario(scenario), '']),
    renderEmbedded(run),
    END,
  ].join('\n');
}

function previousBlocks(path: string): string[] {
  if (!existsSync(path)) {
    return [];
  }
  const text = readFileSync(path, 'utf8');
  const blocks: string[] = [];
  let from = text.indexOf(START);
  while (from !== -1) {
    const to = text.indexOf(END, from);
    if (to === -1) break;
    blocks.push(text.slice(from, to + END.length));
    from = text.indexOf(START, to);
  }
  return blocks;
}

/** Writes the file with `run` first and at most KEEP_PREVIOUS earlier runs below it. */
export function writeResults(path: string, run: BenchRun): void {
  const previous = previousBlocks(path).slice(0, KEEP_PREVIOUS);
  const parts = [
    '# Tessera benchmark results',
    '',
    'Written by `npm run bench` (see [README.md](README.md)): the newest run first, the few before it under "Previous runs".',
    '',
    HOW_TO_READ,
    '',
    '## Latest run',
    '',
    renderRun(run),
  ];
  if (previous.length > 0) {
    parts.push('', '## Previous runs', '', previous.join('\n\n'));
  }
  writeFileSync(path, `${parts.join('\n')}\n`);
}
