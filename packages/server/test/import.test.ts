/**
 * `tessera import`: Synthea transaction Bundles and NDJSON into a project, checked against
 * counts computed from the files alone; and, as an operator runs it (a child process), the
 * summary and exit status when a file is broken.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import { importFiles } from '../src/cli/import-files.js';
import { ImportCommandError, listFiles, runImportCommand } from '../src/cli/import.js';
import { RESOURCE_TABLES as IMPORTED_TABLES } from '../src/db/analyze.js';
import { ProgressReporter } from '../src/cli/import-progress.js';
import { loadConfig } from '../src/config.js';
import { systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { openDeps } from '../src/open-deps.js';
import { createMember, fhirClient, type FhirClient, type TestMember } from './factories.js';
import { createFreshPgDatabase, type FreshPgDatabase } from './fresh-pg-database.js';
import { startTestServer, testDatabaseUrl, type TestServer } from './harness.js';

const SYNTHEA = process.env.SYNTHEA_DIR ?? join(import.meta.dirname, '../../../../shared/data/synthea');
const bin = fileURLToPath(new URL('../bin/tessera.js', import.meta.url));

/** The smallest Synthea files, in a folder of their own. */
function smallestSynthea(count: number, folder: string): string[] {
  const files = readdirSync(SYNTHEA).filter((f) => f.endsWith('.json'));
  const chosen = files.sort((x, y) => statSync(join(SYNTHEA, x)).size - statSync(join(SYNTHEA, y)).size || x.localeCompare(y)).slice(0, count);
  for (const f of chosen) copyFileSync(join(SYNTHEA, f), join(folder, f));
  return chosen.map((f) => join(folder, f));
}

function countTypes(paths: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const path of paths) {
    const bundle = JSON.parse(readFileSync(path, 'utf8')) as Bundle;
    for (const entry of bundle.entry ?? []) {
      const type = entry.resource?.resourceType as string;
      counts.set(type, (counts.get(type) ?? 0) + 1);
    }
  }
  return counts;
}

function transaction(...resources: Array<Record<string, unknown>>): string {
  return JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: resources.map((resource) => ({ resource, request: { method: 'POST', url: resource.resourceType } })) });
}

describe('tessera import', () => {
  let server: TestServer;
  let member: TestMember;
  let fhir: FhirClient;
  let folder: string;

  before(async () => {
    server = await startTestServer();
    member = await createMember(server);
    fhir = fhirClient(server, member.token);
    folder = await mkdtemp(join(tmpdir(), 'tessera-import-'));
  });
  after(async () => {
    await server.close();
    await rm(folder, { recursive: true, force: true });
  });

  const total = async (query: string): Promise<number> => {
    const res = await fhir.get(query);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.total;
  };

  it('imports Synthea transaction Bundles: the resources per type equal the counts from the files', async () => {
    const synthea = join(folder, 'synthea');
    mkdirSync(synthea);
    const paths = smallestSynthea(3, synthea);
    const expected = countTypes(paths);
    const progress: number[] = [];
    const summary = await importFiles({ deps: server.deps, projectId: member.projectId, files: listFiles([synthea]), onProgress: (p) => progress.push(p.filesDone) });
    assert.deepEqual(summary.errors, []);
    assert.equal(summary.files, 3);
    assert.equal(summary.resources, [...expected.values()].reduce((a, b) => a + b, 0));
    assert.deepEqual(progress, [1, 2, 3]);
    for (const [type, count] of expected) {
      // The member's own profile is a Practitioner of the project too.
      assert.equal(await total(`${type}?_summary=count`), count + (type === 'Practitioner' ? 1 : 0), type);
    }
    // References were rewritten to the new ids: each patient's Encounters are found by reference.
    const bundle = JSON.parse(readFileSync(paths[0] as string, 'utf8')) as Bundle;
    const patientEntry = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient');
    const family = (patientEntry?.resource as { name: Array<{ family: string }> }).name[0]?.family as string;
    const patient = (await fhir.get(`Patient?family:exact=${encodeURIComponent(family)}`)).body.entry[0].resource;
    const encounters = bundle.entry?.filter((e) => e.resource?.resourceType === 'Encounter').length;
    assert.equal(await total(`Encounter?subject=Patient/${patient.id}&_summary=count`), encounters);
  });

  it('imports NDJSON keeping ids, writes the good lines and reports the bad ones by line', async () => {
    const path = join(folder, 'data.ndjson');
    const id = `nd-${crypto.randomUUID()}`;
    const lines = [
      JSON.stringify({ resourceType: 'Patient', id, name: [{ family: 'Ndjson' }] }),
      JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${id}` } }),
      JSON.stringify({ resourceType: 'Patient', birthDate: 'not a date' }),
      '{ not json',
      '',
      JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'y' }, subject: { reference: `Patient/${id}` } }),
      JSON.stringify(['not', 'a', 'resource']),
    ];
    writeFileSync(path, `${lines.join('\n')}\n`);
    const summary = await importFiles({ deps: server.deps, projectId: member.projectId, files: listFiles([path]) });
    assert.equal(summary.resources, 3);
    assert.deepEqual(summary.errors.map((e) => e.line), [3, 4, 7]);
    assert.match(summary.errors[0]?.message ?? '', /date.*resource\.birthDate/i);
    assert.equal((await fhir.get(`Patient/${id}`)).body.name[0].family, 'Ndjson');
    assert.equal(await total(`Observation?subject=Patient/${id}&_summary=count`), 2);
  });

  it('draws progress in place on a terminal, and as a line every 5 s otherwise', () => {
    let now = 0;
    const progress = { filesDone: 1, bytesDone: 50, resources: 10, errors: 1 };
    const tty = { text: '', isTTY: true, write: (t: string) => (tty.text += t) };
    const reporter = new ProgressReporter(tty, 2, 100, () => now);
    reporter.update(progress);
    now = 50;
    reporter.update({ ...progress, resources: 20 }); // Within 100 ms of the last redraw: skipped.
    now = 2000;
    reporter.finish({ ...progress, filesDone: 2, bytesDone: 100, resources: 40 });
    assert.equal(tty.text, '\r[############------------] 50%  1/2 files  10 resources  0/s  1 error\x1b[K\r[########################] 100%  2/2 files  40 resources  20/s  1 error\x1b[K\n');
    const log = { text: '', write: (t: string) => (log.text += t) };
    now = 0;
    const plain = new ProgressReporter(log, 2, 100, () => now);
    plain.update(progress);
    now = 4000;
    plain.update(progress);
    now = 5000;
    plain.update(progress);
    assert.equal(log.text.split('\n').length - 1, 2);
  });

  it('refuses to run without --project or files (a usage error, exit 2)', async () => {
    const config = loadConfig({ DATA_DIR: folder, LOG_LEVEL: 'silent' });
    await assert.rejects(runImportCommand(config, [folder]), ImportCommandError);
    await assert.rejects(runImportCommand(config, ['--project', 'not-a-uuid', folder]), ImportCommandError);
    await assert.rejects(runImportCommand(config, ['--project', crypto.randomUUID()]), ImportCommandError);
    await assert.rejects(runImportCommand(config, ['--project', crypto.randomUUID(), join(folder, 'missing')]), /No such file/);
  });

  describe('as a command', () => {
    let dataDir: string;
    let database: FreshPgDatabase | undefined;
    let env: NodeJS.ProcessEnv;
    const projectId = crypto.randomUUID();

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'tessera-import-cli-'));
      database = testDatabaseUrl() ? await createFreshPgDatabase('import') : undefined;
      env = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...(database ? { DATABASE_URL: database.url } : {}) };
      if (!database) delete env.DATABASE_URL;
      // The project to import into, made in-process; the embedded database is closed again before the command opens it.
      const deps = await openDeps(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...(database ? { DATABASE_URL: database.url } : {}) }));
      await new SystemRepository(deps).create(systemScope(projectId), { resourceType: 'Project', id: projectId, name: 'Import target' });
      await deps.db.close();
    });
    after(async () => {
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('reports each broken file with its entry and exits 1; the broken transaction writes nothing', async () => {
      const files = join(dataDir, 'in');
      mkdirSync(files);
      writeFileSync(join(files, 'a-good.json'), transaction({ resourceType: 'Patient', name: [{ family: 'Good' }] }, { resourceType: 'Patient', name: [{ family: 'Also good' }] }));
      writeFileSync(join(files, 'b-broken.json'), transaction({ resourceType: 'Patient', name: [{ family: 'Lost' }] }, { resourceType: 'Patient', birthDate: 'soon' }));
      writeFileSync(join(files, 'c-not-json.json'), '{ "resourceType": ');
      const child = spawn(process.execPath, [bin, 'import', '--project', projectId, files], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(code, 1, `${stdout}\n${stderr}`);
      assert.match(stdout, /^Imported 2 resources from 3 files in [\d.]+ s \(\d+ resources\/s\)\.$/m);
      assert.match(stdout, /^2 errors:$/m);
      assert.match(stdout, /^ {2}b-broken\.json entry 1: Invalid date format \(Bundle\.entry\[1\]\.resource\.birthDate\)$/m);
      assert.match(stdout, /^ {2}c-not-json\.json: Malformed JSON/m);
      // Not a terminal: progress as plain lines on stderr, the last one complete.
      assert.match(stderr, /\[#{24}\] 100% {2}3\/3 files {2}2 resources {2}\d+\/s {2}2 errors\nUpdating the query planner statistics \(ANALYZE\)\.\.\.\n$/);

      const deps = await openDeps(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...(database ? { DATABASE_URL: database.url } : {}) }));
      try {
        assert.equal(await deps.store.count(systemScope(projectId), 'Patient'), 2);
        // The planner has statistics for the imported rows: ANALYZE ran on every filled table the import writes.
        const filled: string[] = [];
        for (const table of IMPORTED_TABLES) {
          const { rows } = await deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
          if ((rows[0]?.n ?? 0) > 0) filled.push(table);
        }
        assert.ok(filled.includes('resource') && filled.includes('search_string'), filled.join());
        const { rows } = await deps.db.query<{ tablename: string }>(`SELECT DISTINCT tablename FROM pg_stats WHERE tablename = ANY($1)`, [filled]);
        assert.deepEqual(rows.map((r) => r.tablename).sort(), filled.sort());
      } finally {
        await deps.db.close();
      }
    });
  });
});
