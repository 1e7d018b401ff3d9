/**
 * `npm run bench:invite`: bulk invite throughput (issue 5, "Bulk and automation": 10,000 rows
 * without email in under a minute on PostgreSQL). On a throwaway database, Tessera (a child
 * process, as `npm run bench` starts it) receives 10,000 CSV rows through
 * `POST /admin/projects/:projectId/invite/bulk`, in requests of 1,000 rows, one after another:
 * each row a Practitioner with its own email address and `sendEmail=false` (no mail goes out;
 * every row still runs the whole invite: lookups by email, User, profile, membership,
 * AuditEvent; the server runs them in chunks of rows, one transaction each, see
 * packages/server/src/admin/bulk-invite-chunk.ts). Then the same file again, which must report every
 * row `exists` (the idempotent re-run). Appends the figures to bench/RESULTS.md under
 * "Bulk invite" (replacing the previous figure there).
 * Options: --rows N (10000), --batch N (1000), --postgres URL, --no-write.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openBenchSession } from './bench-session.js';
import { POSTGRES_OPTION, REPO_ROOT, serverPaths } from './cli-options.js';
import { describeMachine, readCodeVersion, readLoadAverage } from './machine.js';
import { readPolicySection } from './policy-results-file.js';
import { formatNumber } from './results-file.js';
import { issueToken, startTessera } from './servers.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    batch: { type: 'string', default: '1000' },
    postgres: POSTGRES_OPTION,
    'no-write': { type: 'boolean', default: false },
  },
});
const rowCount = Number(args.rows);
const batchSize = Number(args.batch);
if (!Number.isInteger(rowCount) || rowCount < 1 || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
  console.error('--rows must be a whole number of at least 1, --batch one from 1 to 10000');
  process.exit(2);
}

const AIM_SECONDS = 60;
const START = '<!-- bench-invite-run -->';
const END = '<!-- /bench-invite-run -->';
const HEADING = '## Bulk invite (`npm run bench:invite`)';
const paths = serverPaths('packages/server');
const session = openBenchSession({ name: 'bench:invite', budgetSeconds: 900, announceDrop: false });
const { log } = session;

function csvBatches(runId: string): string[] {
  const batches: string[] = [];
  for (let start = 0; start < rowCount; start += batchSize) {
    const lines = ['resourceType,firstName,lastName,email,sendEmail'];
    for (let i = start; i < Math.min(rowCount, start + batchSize); i++) lines.push(`Practitioner,Bench,Invitee ${i},bench-${runId}-${i}@example.com,false`);
    batches.push(lines.join('\n'));
  }
  return batches;
}

interface Pass {
  seconds: number;
  counts: Record<string, number>;
}

async function runPass(origin: string, token: string, projectId: string, batches: string[], label: string): Promise<Pass> {
  const counts: Record<string, number> = { created: 0, updated: 0, exists: 0, errors: 0 };
  const t0 = performance.now();
  for (const [i, csv] of batches.entries()) {
    const res = await fetch(`${origin}/admin/projects/${projectId}/invite/bulk`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body: csv });
    const body = (await res.json()) as Record<string, number>;
    if (res.status !== 200) throw new Error(`${label}: batch ${i + 1} answered ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
    for (const key of Object.keys(counts)) counts[key] = (counts[key] ?? 0) + (body[key] ?? 0);
    log(`${label}: ${Math.min(rowCount, (i + 1) * batchSize)}/${rowCount} rows`);
  }
  return { seconds: (performance.now() - t0) / 1000, counts };
}

function render(first: Pass, again: Pass, loads: [number, number], postgres: string): string {
  const code = readCodeVersion(REPO_ROOT);
  const machine = describeMachine(postgres);
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const row = (name: string, p: Pass) => `| ${name} | ${formatNumber(p.seconds, 1)} s | ${formatNumber(rowCount / p.seconds)} | ${p.counts.created} | ${p.counts.exists} | ${p.counts.errors} |`;
  const met = first.seconds <= AIM_SECONDS && first.counts.created === rowCount;
  return [
    START,
    `### ${date} UTC, commit ${code.commit} (${code.changedFiles === 0 ? 'clean tree' : `working tree dirty: ${code.changedFiles} files changed or untracked`})`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${formatNumber(machine.memoryGiB, 1)} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}. Load average (1 min): ${formatNumber(loads[0], 2)} before, ${formatNumber(loads[1], 2)} after.`,
    '',
    `${formatNumber(rowCount)} CSV rows (a Practitioner with its own email address each, \`sendEmail=false\`) POSTed to \`/admin/projects/:projectId/invite/bulk\` in requests of ${formatNumber(batchSize)} rows, one after another; then the same rows again.`,
    '',
    '| pass | time | rows/s | created | exists | errors |',
    '|---|---:|---:|---:|---:|---:|',
    row('first (invites)', first),
    row('again (idempotent)', again),
    '',
    `Aim: ${formatNumber(rowCount)} rows in under ${AIM_SECONDS} s: ${met ? 'met' : 'not met'}.`,
    END,
  ].join('\n');
}

/** Puts the block under its heading at the end of RESULTS.md, replacing an earlier one. */
function writeBlock(block: string): void {
  const path = resolve(REPO_ROOT, 'bench/RESULTS.md');
  let text = existsSync(path) ? readFileSync(path, 'utf8') : '# Tessera benchmark results\n';
  // The access-policy section follows the invite section: kept whole (policy-results-file.ts).
  const policy = readPolicySection(text);
  const at = text.indexOf(HEADING);
  if (at >= 0) text = text.slice(0, at).replace(/\n+$/, '\n');
  writeFileSync(path, `${text.replace(/\n*$/, '\n')}\n${HEADING}\n\n${block}\n${policy ? `\n${policy}\n` : ''}`);
}

async function main(): Promise<number> {
  const database = await session.createDatabase(args.postgres);
  log(`Database ${database.name} (PostgreSQL ${database.serverVersion})`);
  const tessera = await startTessera(paths, database);
  session.track(tessera.child);
  const { accessToken, projectId } = await issueToken(paths, database, tessera);
  const batches = csvBatches(Date.now().toString(36));
  const loadBefore = readLoadAverage();
  const first = await runPass(tessera.origin, accessToken, projectId, batches, 'invite');
  const again = await runPass(tessera.origin, accessToken, projectId, batches, 'again');
  const loads: [number, number] = [loadBefore, readLoadAverage()];
  log(`first: ${first.seconds.toFixed(1)} s (${JSON.stringify(first.counts)}); again: ${again.seconds.toFixed(1)} s (${JSON.stringify(again.counts)})`);
  const block = render(first, again, loads, database.serverVersion);
  if (!args['no-write']) writeBlock(block);
  console.log(block);
  const ok = first.counts.created === rowCount && again.counts.exists === rowCount;
  if (!ok) log('Not every row was created, then found again: see the counts above');
  return ok ? 0 : 1;
}

await session.run(main);
