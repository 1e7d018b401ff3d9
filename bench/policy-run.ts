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
import pg from 'pg';
import { withClient, type BenchDatabase } from './bench-database.js';
import { loadSeconds, openBenchSession } from './bench-session.js';
import { readArgs, REPO_ROOT } from './cli-options.js';
import { copySeconds, DATA_OPTIONS, readDataSettings } from './data-options.js';
import { describeMachine, readCodeVersion, readLoadAverage } from './machine.js';
import { multiplyData } from './multiply-data.js';
import { compareCallers, type Caller } from './policy-measure.js';
import { createPatientMember, POLICY_VARIANTS, registerProjectOwner, signIn } from './policy-members.js';
import { renderPolicyRun, writePolicySection, type PolicyBenchRun } from './policy-results-file.js';
import { openMemberSearch } from './policy-statements.js';
import { formatNumber } from './results-file.js';
import { startTessera, type RunningServer } from './servers.js';
import { importSynthea, type CreatedResource } from './synthea-import.js';

const args = readArgs(DATA_OPTIONS);
const { settings, scale, importConcurrency, copiesPerStep, syntheaDir, paths } = readDataSettings(args);

// The time bound: the import, three callers' warm-up and measured seconds plus checks and plans,
// and with --scale, generously, the copy (as search-run.ts allows for it).
const budgetSeconds = 600 + loadSeconds(settings, 3) + 180 + copySeconds(scale);
const session = openBenchSession({ name: 'bench:policy', budgetSeconds, keepDatabase: args['keep-database'] });
const { log } = session;

const loadAverages: Array<[string, number]> = [];
const noteLoad = (when: string): void => void loadAverages.push([when, readLoadAverage()]);

async function startServer(db: BenchDatabase): Promise<RunningServer> {
  const tessera = await startTessera(paths, db);
  session.track(tessera.child);
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
  const code = readCodeVersion(REPO_ROOT);
  noteLoad('at the start');
  log(`Commit ${code.commit}; load average ${readLoadAverage().toFixed(2)}; time budget ${budgetSeconds} s`);
  const db = await session.createDatabase(args.postgres);
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
  session.saveResults(args['no-write'], (path) => writePolicySection(path, block));
  return session.exitCodeFor(comparison.callers.reduce((n, c) => n + c.load.failures, 0));
}

await session.run(main);
