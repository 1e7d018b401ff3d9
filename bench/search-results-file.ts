/**
 * One `npm run bench:search` run as a block of bench/RESULTS.md (results-file.ts owns the file
 * and keeps the earlier runs): import throughput, the data sizes and how they were made, the
 * search mix at each size beside the floor, the large ÷ small latency ratios with the scans
 * each query's plan uses, and the full EXPLAIN of the slowest query at the largest size.
 */
import type { AlternatingSettings, LoadResult } from './load.js';
import type { CodeVersion, Machine } from './machine.js';
import type { MultiplyResult } from './multiply-data.js';
import { formatCpu, formatMs, formatNumber, SEARCH_END, SEARCH_START } from './results-file.js';
import type { QueryResult, SizeResult } from './search-measure.js';
import type { ImportResult } from './synthea-import.js';

export interface SearchBenchRun {
  date: Date;
  code: CodeVersion;
  machine: Machine;
  settings: AlternatingSettings & { scale: number | undefined };
  import: Omit<ImportResult, 'created'>;
  /** Seconds VACUUM (ANALYZE) took after the import. */
  analyzeSeconds: number;
  generation: MultiplyResult | undefined;
  sizes: SizeResult[];
  /** One-minute load average at named moments of the run. */
  loadAverages: Array<[string, number]>;
  slowest: { size: string; result: QueryResult; planText: string } | undefined;
}

/** The latency aim: p50 at the large size within this many times the Synthea set's. */
export const LATENCY_GROWTH_AIM = 2;

function decoded(query: string): string {
  return decodeURIComponent(query);
}

function cell(r: LoadResult): string[] {
  return [formatNumber(r.requestsPerSecond), formatMs(r.p50Ms), formatMs(r.p99Ms), formatCpu(r.serverCpuMicrosPerRequest)];
}

function renderSize(size: SizeResult): string {
  const rows = size.queries.map((q) => {
    const ratio = q.floor.requestsPerSecond === 0 ? 0 : q.tessera.requestsPerSecond / q.floor.requestsPerSecond;
    const spread = q.roundRatios.length > 1 ? ` (${formatNumber(Math.min(...q.roundRatios), 2)}–${formatNumber(Math.max(...q.roundRatios), 2)})` : '';
    const page = `${q.matches}${q.included ? ` + ${q.included}` : ''}`;
    return `| ${q.query.kind} | ${cell(q.tessera).join(' | ')} | ${cell(q.floor).slice(0, 3).join(' | ')} | ${formatNumber(ratio, 2)}${spread} | ${formatMs(q.plan.executionMs)} | ${page} | ${q.tessera.failures + q.floor.failures} |`;
  });
  const unsupported = size.unsupported.map((u) => `- ${u.query.kind} (\`${decoded(u.query.query)}\`): not measured, Tessera answered ${u.status}: ${u.message}`);
  return [
    `##### Search, ${size.label} (${formatNumber(size.resources)} resources, ${formatNumber(size.indexRows)} search index rows)`,
    '',
    '| query | Tessera req/s | p50 | p99 | server CPU / req | floor req/s | p50 | p99 | Tessera ÷ floor req/s (rounds) | SQL | page | failures |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    ...(unsupported.length ? ['', ...unsupported] : []),
  ].join('\n');
}

function renderGrowth(small: SizeResult, large: SizeResult): string {
  const rows = small.queries.flatMap((s) => {
    const l = large.queries.find((q) => q.query.kind === s.query.kind);
    if (!l) return [];
    const ratio = l.tessera.p50Ms / s.tessera.p50Ms;
    const sqlRatio = l.plan.executionMs / s.plan.executionMs;
    const seq = l.plan.seqScans.length ? ` **(${l.plan.seqScans.join(', ')})**` : '';
    return [
      `| ${s.query.kind} | ${formatMs(s.tessera.p50Ms)} | ${formatMs(l.tessera.p50Ms)} | **${formatNumber(ratio, 2)}×** ${ratio <= LATENCY_GROWTH_AIM ? 'met' : 'not met'} | ` +
        `${formatMs(s.tessera.p99Ms)} → ${formatMs(l.tessera.p99Ms)} | ${formatMs(s.plan.executionMs)} → ${formatMs(l.plan.executionMs)} (${formatNumber(sqlRatio, 1)}×) | ${l.plan.scans.join('; ')}${seq} |`,
    ];
  });
  return [
    `##### ${small.label} → ${large.label}: latency growth (aim: p50 within ${LATENCY_GROWTH_AIM}×)`,
    '',
    `| query | p50 ${small.label} | p50 ${large.label} | ratio | p99 | SQL | scans at ${large.label} |`,
    '|---|---:|---:|---|---:|---:|---|',
    ...rows,
  ].join('\n');
}

function renderQueries(sizes: SizeResult[]): string {
  const first = sizes[0];
  if (!first) return '';
  const all = [...first.queries.map((q) => q.query), ...first.unsupported.map((u) => u.query)];
  return ['Queries (values picked from the Synthea data, kept for every size):', '', ...all.map((q) => `- ${q.kind}: \`${decoded(q.query)}\`: ${q.picked}`)].join('\n');
}

function renderData(run: SearchBenchRun): string {
  const [small, large] = run.sizes;
  const rows: string[] = [];
  if (small) {
    rows.push(`| ${small.label} | ${formatNumber(small.resources)} | ${formatNumber(small.indexRows)} | the import above, then VACUUM (ANALYZE) in ${formatNumber(run.analyzeSeconds, 1)} s |`);
  }
  if (large && run.generation) {
    const g = run.generation;
    rows.push(
      `| ${large.label} | ${formatNumber(large.resources)} | ${formatNumber(large.indexRows)} | ${g.copies} copies of the imported resources in SQL: ` +
        `${formatNumber(g.seconds.copy)} s copying, ${formatNumber(g.seconds.indexes)} s rebuilding indexes, ${formatNumber(g.seconds.vacuum)} s VACUUM (ANALYZE) |`,
    );
  }
  return ['##### Data', '', '| size | resources in the project | search index rows | made by |', '|---|---:|---:|---|', ...rows].join('\n');
}

export function renderSearchRun(run: SearchBenchRun): string {
  const m = run.machine;
  const s = run.settings;
  const tree = run.code.changedFiles === 0 ? 'clean tree' : `working tree dirty: ${run.code.changedFiles} files changed or untracked`;
  const imp = run.import;
  const via = imp.mode === 'transaction' ? 'one transaction per file (POST /fhir/R4)' : 'entry by entry (POST /fhir/R4/{type}; no transaction support)';
  const parts = [
    SEARCH_START,
    `#### ${run.date.toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${run.code.commit} (${tree})`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${formatNumber(m.memoryGiB, 1)} GiB, Node ${m.node}, PostgreSQL ${m.postgres}. ` +
      `Load average (1 min): ${run.loadAverages.map(([when, value]) => `${formatNumber(value, 2)} ${when}`).join(', ')}.`,
    '',
    `Settings: ${s.connections} connections; per server and query a ${s.warmupSeconds} s warm-up, then ${s.durationSeconds} s measured in ` +
      `${s.rounds} rounds alternating with the floor; ${s.scale ? `large size: at least ${formatNumber(s.scale)} resources` : 'Synthea set only (no --scale)'}.`,
    '',
    '##### Import',
    '',
    '| Synthea Bundles | how | resources | time | resources/s | slowest request |',
    '|---|---|---:|---:|---:|---:|',
    `| ${imp.files} files, ${imp.concurrency} at a time | ${via} | ${formatNumber(imp.resources)} | ${formatNumber(imp.seconds, 1)} s | **${formatNumber(imp.resourcesPerSecond)}** | ${formatNumber(imp.slowestRequestMs)} ms |`,
    '',
    renderData(run),
    '',
    renderQueries(run.sizes),
    '',
    ...run.sizes.flatMap((size) => [renderSize(size), '']),
  ];
  const [small, large] = run.sizes;
  if (small && large) {
    parts.push(renderGrowth(small, large), '');
  }
  if (run.slowest) {
    const { size, result, planText } = run.slowest;
    parts.push(
      `##### Slowest query at ${size}: ${result.query.kind} (\`${decoded(result.query.query)}\`), p50 ${formatMs(result.tessera.p50Ms)}`,
      '',
      'The statements Tessera runs for it, with their parameters, under EXPLAIN (ANALYZE, BUFFERS):',
      '',
      '```',
      planText,
      '```',
      '',
    );
  }
  parts.push(SEARCH_END);
  return parts.join('\n');
}
