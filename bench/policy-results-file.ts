/**
 * One `npm run bench:policy` run as a block of bench/RESULTS.md, and the file's "Access policy"
 * section: the newest run, then up to KEEP_PREVIOUS earlier ones carried over verbatim. Only
 * that section is rewritten; every byte before and after it is kept as it was.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AlternatingSettings } from './load.js';
import type { CodeVersion, Machine } from './machine.js';
import type { Comparison } from './policy-measure.js';
import { formatCpu, formatMs, formatNumber } from './results-file.js';

export const POLICY_START = '<!-- bench-policy-run -->';
export const POLICY_END = '<!-- /bench-policy-run -->';
const HEADING = '## Access policy (`npm run bench:policy`)';
const KEEP_PREVIOUS = 4;
/** Issue 6: the patient's search through a policy costs at most this many times the admin's (p50). */
export const POLICY_AIM = 1.3;

const HOW_TO_READ = `A Patient member searches \`Observation?code=<LOINC code>\` and sees only its own
Observations through its AccessPolicy; the project admin runs the same search with the
equivalent explicit filter, \`&subject=Patient/<id>\`. Both must find the same resources. The
policy comes in two variants, each its own member: **criteria** (\`Observation?subject=%patient\`,
\`Patient?_id=%patient.id\`) and **compartment** (\`compartment: %patient\`). The three callers
hit the same Tessera in rounds, the order rotating each round. The aim (issue 6, at a million
resources on PostgreSQL) is **patient p50 ÷ admin p50 ≤ ${POLICY_AIM}**; the per-round ratios show
the noise, and *SQL* (EXPLAIN ANALYZE of the statements each caller's search runs, warm cache)
whether the policy's predicate changes the plan.`;

export interface PolicyBenchRun {
  date: Date;
  code: CodeVersion;
  machine: Machine;
  settings: AlternatingSettings & { scale: number | undefined };
  loadAverages: Array<[string, number]>;
  /** Resources in the project when measured ("Synthea set, 31,000 resources"). */
  data: string;
  subject: { patientId: string; observations: number; loinc: string; loincObservations: number; projectLoincObservations: number };
  comparison: Comparison;
}

function ratioCells(p50s: number[], adminP50s: number[]): string {
  const ratios = p50s.map((p, i) => p / (adminP50s[i] ?? Number.NaN)).filter(Number.isFinite);
  return ratios.length > 1 ? ` (rounds: ${formatNumber(Math.min(...ratios), 2)} to ${formatNumber(Math.max(...ratios), 2)})` : '';
}

export function renderPolicyRun(run: PolicyBenchRun): string {
  const m = run.machine;
  const s = run.settings;
  const tree = run.code.changedFiles === 0 ? 'clean tree' : `working tree dirty: ${run.code.changedFiles} files changed or untracked`;
  const callers = run.comparison.callers;
  const admin = callers.find((c) => c.caller.name === 'admin');
  if (!admin) throw new Error('The run has no admin figures');
  const rows = callers.map((c) => {
    const ratio = c === admin ? '' : `**${formatNumber(c.load.p50Ms / admin.load.p50Ms, 2)}**${ratioCells(c.roundP50Ms, admin.roundP50Ms)}`;
    // A `|` in a table cell ends the cell, even inside code, unless escaped.
    return `| ${c.caller.name} | \`${decodeURIComponent(c.caller.query).replaceAll('|', '\\|')}\` | ${formatNumber(c.load.requestsPerSecond)} | ${formatMs(c.load.p50Ms)} | ${formatMs(c.load.p99Ms)} | ` +
      `${ratio} | ${formatCpu(c.load.serverCpuMicrosPerRequest)} | ${formatMs(c.plan.executionMs)} | ${c.plan.scans.join('; ')} | ${formatNumber(c.load.requests)} | ${c.load.failures} |`;
  });
  const verdicts = callers
    .filter((c) => c !== admin)
    .map((c) => {
      const ratio = c.load.p50Ms / admin.load.p50Ms;
      return `${c.caller.name} ${formatNumber(ratio, 2)} (${ratio <= POLICY_AIM ? 'met' : 'not met'})`;
    });
  const sub = run.subject;
  return [
    POLICY_START,
    `#### ${run.date.toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${run.code.commit} (${tree})`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${formatNumber(m.memoryGiB, 1)} GiB, Node ${m.node}, PostgreSQL ${m.postgres}. ` +
      `Load average (1 min): ${run.loadAverages.map(([when, value]) => `${formatNumber(value, 2)} ${when}`).join(', ')}.`,
    '',
    `Settings: ${s.connections} connections; per caller a ${s.warmupSeconds} s warm-up, then ${s.durationSeconds} s measured in ${s.rounds} rounds; ` +
      `${s.scale ? `data copied to at least ${formatNumber(s.scale)} resources` : 'Synthea set only (no --scale)'}.`,
    '',
    `Data: ${run.data}. Patient/${sub.patientId} has the median number of Observations (${formatNumber(sub.observations)}); ` +
      `LOINC ${sub.loinc} is the most frequent code among them (${formatNumber(sub.loincObservations)} of them; ${formatNumber(sub.projectLoincObservations)} in the project). ` +
      `Every caller found the same ${run.comparison.pageMatches} matches on the page (${run.comparison.allMatches} in all).`,
    '',
    '| caller | search | req/s | p50 | p99 | p50 ÷ admin | server CPU / req | SQL | plan | requests | failures |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|',
    ...rows,
    '',
    `Aim: patient p50 ÷ admin p50 ≤ ${formatNumber(POLICY_AIM, 1)}: ${verdicts.join(', ')}.${s.scale ? '' : ' (The aim is set for a million resources; this run is the Synthea set only.)'}`,
    '',
    ...callers.flatMap((c) => [
      `<details><summary>${c.caller.name}: the statements and their plans (EXPLAIN (ANALYZE, BUFFERS))</summary>`,
      '',
      '```',
      c.planText,
      '```',
      '',
      '</details>',
      '',
    ]),
    POLICY_END,
  ].join('\n');
}

/** The blocks between the policy markers in `text`, newest first as written. */
function readBlocks(text: string): string[] {
  const blocks: string[] = [];
  let from = text.indexOf(POLICY_START);
  while (from !== -1) {
    const to = text.indexOf(POLICY_END, from);
    if (to === -1) break;
    blocks.push(text.slice(from, to + POLICY_END.length));
    from = text.indexOf(POLICY_START, to);
  }
  return blocks;
}

/**
 * The whole Access policy section of `text` (heading to its last end marker), or undefined: for
 * the writers of the file's other sections (results-file.ts, invite-run.ts) to carry it over.
 */
export function readPolicySection(text: string): string | undefined {
  const at = text.indexOf(HEADING);
  const end = text.lastIndexOf(POLICY_END);
  return at === -1 || end < at ? undefined : text.slice(at, end + POLICY_END.length);
}

/** Replaces the Access policy section (or adds it at the end) with `block` first and the earlier runs below it. */
export function writePolicySection(path: string, block: string): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Tessera benchmark results\n';
  const previous = readBlocks(text).slice(0, KEEP_PREVIOUS);
  const parts = [HEADING, '', HOW_TO_READ, '', '### Latest policy run', '', block];
  if (previous.length > 0) parts.push('', '### Previous policy runs', '', previous.join('\n\n'));
  const section = parts.join('\n');
  const old = readPolicySection(text);
  if (old === undefined) {
    writeFileSync(path, `${text.replace(/\n*$/, '\n')}\n${section}\n`);
    return;
  }
  // What follows the old section stays where it was.
  const at = text.indexOf(old);
  writeFileSync(path, `${text.slice(0, at)}${section}${text.slice(at + old.length)}`);
}
