/**
 * `npm run bench:policy`: what an access policy costs a search (issue 6: a patient's search
 * through a compartment policy at most 1.3x the admin's search with the equivalent explicit
 * filter, at 1M resources on PostgreSQL), on a throwaway database, written to the "Access
 * policy" section of bench/RESULTS.md.
 *   1. Tessera on an empty database; a new account registers with a project of its own (not
 *      the first-run admin's project, whose members are all super admins, beyond any policy);
 *      the Synthea Bundles imported into it through the API;
 *      VACUUM (ANALYZE). With `--scale N`, Tessera stopped, the data copied in SQL to at least
 *      N resources (multiply-data.ts), Tessera restarted.
 *   2. The patient with the median number of Observations and the most frequent LOINC code
 *      among them; per policy variant an AccessPolicy and a Patient member, signed in
 *      (policy-members.ts).
 *   3. The admin's `Observation?code=C&subject=Patient/P` against each member's
 *      `Observation?code=C`: same answers checked, then measured in rotating rounds, and each
 *      caller's statements EXPLAINed (policy-measure.ts).
 * Bounded by a watchdog; children are killed and the database dropped on any exit (unless
 * --keep-database). Traffic goes to 127.0.0.1 only. Options: bench/README.md.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createBenchDatabase, type BenchDatabase } from './bench-database.js';
import { killAllChildren, type Child } from './child-processes.js';
import { describeMachine, readCodeVersion, readLoadAverage } from './machine.js';
import { multiplyData } from './multiply-data.js';
import { compareCallers, type Caller } from './policy-measure.js';
import { createPatientMember, POLICY_VARIANTS, registerProjectOwner, signIn } from './policy-members.js';
import { renderPolicyRun, writePolicySection, type PolicyBenchRun } from './policy-results-file.js';
import { openMemberSearch } from './policy-statements.js';
import { formatNumber } from './results-file.js';
import { startTessera, type Paths, type RunningServer } from './servers.js';
import { importSynthea, type CreatedResource } from './synthea-import.js';

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
  'import-concurrency': { type: 'string', default: '2' },
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

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const paths: Paths = { repoRoot, serverDir: resolve(repoRoot, args['server-dir']) };
const syntheaDir = resolve(repoRoot, args.synthea ?? '../shared/data/synthea');
const startedAt = performance.now();

function log(line: string): void {
  console.log(`[bench:policy ${((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)}s] ${line}`);
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

// The time bound: the import, three callers' warm-up and measured seconds plus checks and plans,
// and with --scale, generously, the copy (as search-run.ts allows for it).
const measureSeconds = 3 * (settings.warmupSeconds + settings.durationSeconds + settings.rounds + 5) + 180;
const budgetSeconds = 600 + measureSeconds + (scale ? Math.max(1200, Math.ceil(scale / 1000)) * 3 : 0);
const watchdog = setTimeout(() => abort(`Time limit of ${budgetSeconds} s reached; stopping`, 1), budgetSeconds * 1000);

const loadAverages: Array<[string, number]> = [];
const noteLoad = (when: string): void => void loadAverages.push([when, readLoadAverage()]);

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function startServer(db: BenchDatabase): Promise<RunningServer> {
  const tessera = await startTessera(paths, db);
  servers.push(tessera.child);
  log(`Tessera is up at ${tessera.origin} (pid ${tessera.child.pid})`);
  return tessera;
}

/**
 * The imported Patient with the median number of Observations, and the most frequent LOINC code
 * among its Observations; read from the stored JSON of the imported resources, as search-mix.ts does.
 */
async function chooseSubject(client: pg.Client, projectId: string, created: CreatedResource[]): Promise<PolicyBenchRun['subject']> {
  const observations = created.filter((c) => c.resourceType === 'Observation').map((c) => c.id);
  const { rows: [patient] } = await client.query<{ id: string; n: number }>(
    `WITH counts AS (
       SELECT split_part(content->'subject'->>'reference', '/', 2) AS id, count(*)::int AS n FROM resource
        WHERE project_id = $1 AND resource_type = 'Observation' AND id = ANY($2) GROUP BY 1)
     SELECT c.id, c.n FROM counts c JOIN resource p ON p.project_id = $1 AND p.resource_type = 'Patient' AND p.id = c.id
      ORDER BY c.n, c.id OFFSET (SELECT count(*) / 2 FROM counts) LIMIT 1`,
    [projectId, observations],
  );
  if (!patient) throw new Error('The imported data has no Patient with Observations');
  const { rows: [code] } = await client.query<{ code: string; n: number }>(
    `SELECT c->>'code' AS code, count(DISTINCT r.id)::int AS n FROM resource r, jsonb_array_elements(r.content->'code'->'coding') c
      WHERE r.project_id = $1 AND r.resource_type = 'Observation' AND r.id = ANY($2) AND r.content->'subject'->>'reference' = $3
        AND c->>'system' = 'http://loinc.org'
      GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`,
    [projectId, observations, `Patient/${patient.id}`],
  );
  if (!code) throw new Error(`Patient/${patient.id}'s Observations have no LOINC code`);
  const { rows: [inProject] } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM resource r WHERE r.project_id = $1 AND r.resource_type = 'Observation' AND NOT r.deleted
        AND r.content->'code'->'coding' @> $2::jsonb`,
    [projectId, JSON.stringify([{ system: 'http://loinc.org', code: code.code }])],
  );
  return { patientId: patient.id, observations: patient.n, loinc: code.code, loincObservations: code.n, projectLoincObservations: inProject?.n ?? 0 };
}

async function main(): Promise<number> {
  const code = readCodeVersion(repoRoot);
  noteLoad('at the start');
  log(`Commit ${code.commit}; load average ${readLoadAverage().toFixed(2)}; time budget ${budgetSeconds} s`);
  const db = (database = await createBenchDatabase(args.postgres));
  log(`Created database ${db.name} (PostgreSQL ${db.serverVersion})`);
  let tessera = await startServer(db);
  const owner = await registerProjectOwner(tessera.origin);
  const projectId = owner.projectId;
  let token = owner.accessToken;
  log(`Registered ${owner.email}, admin of the new project ${projectId}`);

  log(`Importing ${syntheaDir}`);
  const imported = await importSynthea({ origin: tessera.origin, token, dataDir: syntheaDir, concurrency: importConcurrency, log });
  log(`Imported ${imported.resources} resources from ${imported.files} files in ${imported.seconds.toFixed(1)} s (${imported.mode})`);
  await withClient(db.url, (c) => c.query('VACUUM (ANALYZE)'));
  log('VACUUM (ANALYZE) done');
  let data = `Synthea set, ${formatNumber(imported.resources)} imported resources`;
  if (scale) {
    await tessera.child.stop();
    const generation = await multiplyData({ databaseUrl: db.url, projectId, created: imported.created, targetResources: scale, copiesPerStep, log });
    data = `Synthea set and ${formatNumber(generation.copies)} copies of it, ${formatNumber(generation.resources)} resources`;
    // A fresh server on the large set, as search-run.ts does: no plans or connections carried over.
    tessera = await startServer(db);
    token = await signIn(tessera.origin, owner.email, owner.password);
  }
  noteLoad('after the data');

  const subject = await withClient(db.url, (c) => chooseSubject(c, projectId, imported.created));
  log(`Patient/${subject.patientId}: ${subject.observations} Observations, ${subject.loincObservations} of them LOINC ${subject.loinc} ` +
    `(${subject.projectLoincObservations} in the project)`);
  const loinc = encodeURIComponent(`http://loinc.org|${subject.loinc}`);
  const callers: Caller[] = [{ name: 'admin', token, query: `Observation?code=${loinc}&subject=${encodeURIComponent(`Patient/${subject.patientId}`)}` }];
  for (const variant of POLICY_VARIANTS) {
    const member = await createPatientMember({ origin: tessera.origin, adminToken: token, projectId, patientId: subject.patientId, variant });
    log(`Patient member with the ${variant} policy: ProjectMembership/${member.membershipId}, AccessPolicy/${member.policyId}, signed in`);
    callers.push({ name: variant, token: member.accessToken, query: `Observation?code=${loinc}`, membershipId: member.membershipId });
  }

  const search = await openMemberSearch(paths.serverDir, db.url, `${tessera.origin}/fhir/R4/`);
  let comparison;
  try {
    log('Checking that every caller finds the same Observations');
    comparison = await compareCallers({ target: { origin: tessera.origin, pid: tessera.child.pid }, databaseUrl: db.url, projectId, callers, search, settings, log });
  } finally {
    await search.close();
  }
  noteLoad('at the end');
  await tessera.child.stop();

  const run: PolicyBenchRun = {
    date: new Date(),
    code,
    machine: describeMachine(db.serverVersion),
    settings: { ...settings, scale },
    loadAverages,
    data,
    subject,
    comparison,
  };
  const block = renderPolicyRun(run);
  const admin = comparison.callers.find((c) => c.caller.name === 'admin');
  for (const c of comparison.callers) {
    if (c !== admin && admin) log(`${c.caller.name}: p50 ÷ admin p50 = ${(c.load.p50Ms / admin.load.p50Ms).toFixed(2)}`);
  }
  if (args['no-write']) {
    log('Not writing RESULTS.md (--no-write)');
  } else {
    const path = join(repoRoot, 'bench/RESULTS.md');
    writePolicySection(path, block);
    log(`Wrote ${path}`);
  }
  const failures = comparison.callers.reduce((n, c) => n + c.load.failures, 0);
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
