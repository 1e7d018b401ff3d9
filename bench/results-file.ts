/**
 * bench/RESULTS.md: the newest run at the top, the few before it under "Previous runs".
 * Each run is a block between `<!-- bench-run -->` markers, so older runs are carried over
 * verbatim without parsing their tables back; anything else in the file is rewritten.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { EmbeddedStart } from './embedded-start.js';
import type { LoadResult } from './load.js';
import type { CodeVersion, Machine } from './machine.js';
import { readPolicySection } from './policy-results-file.js';

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
export const SEARCH_START = '<!-- bench-search-run -->';
export const SEARCH_END = '<!-- /bench-search-run -->';
/** The bulk invite figure (bench/invite-run.ts), carried over verbatim under its heading. */
const INVITE_HEADING = '## Bulk invite (`npm run bench:invite`)';
const INVITE_START = '<!-- bench-invite-run -->';
const INVITE_END = '<!-- /bench-invite-run -->';
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

const SEARCH_HOW_TO_READ = `## Import and search (\`npm run bench:search\`)

**Import** is the 60 Synthea patients' transaction Bundles POSTed to \`/fhir/R4\` (a few at a
time, \`Prefer: return=minimal\`), timed from the first request to the last answer: resources
created per second. **Search** runs one query of each kind (token, date range, reference,
string, chained, \`_include\`) against Tessera and against the floor, which here runs the very
statements Tessera runs for that query (recorded from Tessera's own search code, and checked to
find the same resources) with nothing around them, in alternating rounds as above. Each query
is measured on the Synthea set and, when the run was asked for it (\`--scale\`), again after the
set was copied in SQL to a million resources or more in the same project. The figure the issue
sets an aim for is **p50 at the large size ÷ p50 on the Synthea set** (within 2x): the queries
should be index scans whose cost does not grow with the data. *SQL* is PostgreSQL's own
execution time for the statements (EXPLAIN ANALYZE, warm cache), and the plan column lists the
scans they use; a Seq Scan on a table that grows with the data is flagged.`;

export function formatNumber(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatMs(value: number): string {
  return `${formatNumber(value, value < 10 ? 2 : 1)} ms`;
}

export function formatCpu(value: number | undefined): string {
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

/** The blocks between `start` and `end` markers in the file, newest first as written. */
function readBlocks(path: string, start: string, end: string): string[] {
  if (!existsSync(path)) {
    return [];
  }
  const text = readFileSync(path, 'utf8');
  const blocks: string[] = [];
  let from = text.indexOf(start);
  while (from !== -1) {
    const to = text.indexOf(end, from);
    if (to === -1) break;
    blocks.push(text.slice(from, to + end.length));
    from = text.indexOf(start, to);
  }
  return blocks;
}

/**
 * Rewrites the whole file: the read/create runs (`npm run bench`), then the search runs
 * (`npm run bench:search`, search-results-file.ts), each newest first with at most
 * KEEP_PREVIOUS earlier ones. `update` holds the new block of whichever kind was just run;
 * the other kind's blocks are carried over verbatim.
 */
export function writeResultsFile(path: string, update: { run?: string; searchRun?: string }): void {
  const withNew = (block: string | undefined, start: string, end: string): string[] => {
    const previous = readBlocks(path, start, end);
    return block === undefined ? previous.slice(0, KEEP_PREVIOUS + 1) : [block, ...previous.slice(0, KEEP_PREVIOUS)];
  };
  const runs = withNew(update.run, START, END);
  const searchRuns = withNew(update.searchRun, SEARCH_START, SEARCH_END);
  const parts = [
    '# Tessera benchmark results',
    '',
    'Written by `npm run bench` and `npm run bench:search` (see [README.md](README.md)): the newest run of each first, the few before it under "Previous runs".',
    '',
    HOW_TO_READ,
    '',
    '## Latest run',
    '',
    runs[0] ?? 'No run of `npm run bench` recorded yet.',
  ];
  if (runs.length > 1) {
    parts.push('', '## Previous runs', '', runs.slice(1).join('\n\n'));
  }
  parts.push('', SEARCH_HOW_TO_READ, '', '### Latest search run', '', searchRuns[0] ?? 'No run of `npm run bench:search` recorded yet.');
  if (searchRuns.length > 1) {
    parts.push('', '### Previous search runs', '', searchRuns.slice(1).join('\n\n'));
  }
  const invite = readBlocks(path, INVITE_START, INVITE_END)[0];
  if (invite !== undefined) {
    parts.push('', INVITE_HEADING, '', invite);
  }
  // The access-policy section (policy-results-file.ts) is kept whole, at the end.
  const policySection = existsSync(path) ? readPolicySection(readFileSync(path, 'utf8')) : undefined;
  if (policySection !== undefined) {
    parts.push('', policySection);
  }
  writeFileSync(path, `${parts.join('\n')}\n`);
}

/** Writes the file with `run` first and at most KEEP_PREVIOUS earlier runs below it; search runs are kept. */
export function writeResults(path: string, run: BenchRun): void {
  writeResultsFile(path, { run: renderRun(run) });
}
