/**
 * `tessera import <file|folder>... --project <id>`: loads FHIR transaction or batch Bundles
 * (`.json`) and NDJSON (`.ndjson`, one resource per line) into a project (import-files.ts),
 * folders searched recursively, files in name order. Progress goes to stderr; the summary
 * (files, resources, resources/s, and each error with its file and entry or line) to stdout.
 * Exit status: 0 when everything was imported, 1 when anything failed, 2 for a usage error.
 *
 * The project is named by id: an import writes into it as the system, so the command does
 * not guess from a user's memberships. Like every command it holds the DATA_DIR lock while
 * it has the embedded database open, and is refused while `tessera serve` holds it; on
 * PostgreSQL it runs beside running servers.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { analyzeTables } from '../db/analyze.js';
import { lockDataDir } from '../db/data-dir-lock.js';
import { loadDefinitions } from '../fhir/definitions.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { systemScope } from '../fhir/scope.js';
import { openDeps } from '../open-deps.js';
import { importFiles, type ImportFile, type ImportSummary } from './import-files.js';
import { ProgressReporter, type ProgressStream } from './import-progress.js';

/** A mistake in how the command was called: print the message, exit 2. */
export class ImportCommandError extends Error {
  override readonly name = 'ImportCommandError';
}

export interface ImportIo {
  /** The summary. */
  print(text: string): void;
  /** Progress and migration notices. */
  progress: ProgressStream;
}

const defaultIo: ImportIo = { print: (text) => console.log(text), progress: process.stderr };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The command as `tessera` runs it: sets the exit status to 1 when anything failed. */
export async function importCommand(config: Config, args: string[]): Promise<void> {
  let code: number;
  try {
    code = await runImportCommand(config, args);
  } catch (err) {
    if (!(err instanceof ImportCommandError)) {
      throw err;
    }
    console.error(err.message);
    code = 2;
  }
  if (code !== 0) {
    process.exitCode = code;
  }
}

/** Runs the import and returns the exit status (tests call this, with their own `io`). */
export async function runImportCommand(config: Config, args: string[], io: ImportIo = defaultIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { project: { type: 'string' } } });
  if (!values.project || !UUID.test(values.project)) {
    throw new ImportCommandError('import needs --project <project id> (a uuid)');
  }
  if (positionals.length === 0) {
    throw new ImportCommandError('import needs at least one file or folder: tessera import --project <id> <file|folder>...');
  }
  const files = listFiles(positionals);
  const projectId = values.project.toLowerCase();
  const unlock = config.databaseUrl ? () => undefined : lockDataDir(config.dataDir);
  try {
    const deps = await openDeps(config, { onMigration: ({ migration, index, total }) => io.progress.write(`Migrating [${index + 1}/${total}] ${migration.name}\n`) });
    try {
      const project = await new SystemRepository(deps).read(systemScope(projectId), 'Project', projectId);
      if (!project) {
        throw new ImportCommandError(`No project ${projectId} in this database`);
      }
      // Indexing the definitions takes seconds: before the clock starts, so the rate is the import's.
      loadDefinitions();
      const started = performance.now();
      const reporter = new ProgressReporter(io.progress, files.length, files.reduce((n, f) => n + f.bytes, 0));
      let last = { filesDone: 0, bytesDone: 0, resources: 0, errors: 0 };
      const summary = await importFiles({
        deps,
        projectId,
        files,
        onProgress: (progress) => {
          last = { ...progress };
          reporter.update(progress);
        },
      });
      reporter.finish({ ...last, resources: summary.resources, errors: summary.errors.length });
      const seconds = (performance.now() - started) / 1000;
      if (summary.resources > 0) {
        // Fresh planner statistics: without them the planner guesses on the new rows (PGlite has no autovacuum).
        io.progress.write('Updating the query planner statistics (ANALYZE)...\n');
        await analyzeTables(deps.db);
      }
      io.print(formatSummary(summary, seconds));
      return summary.errors.length > 0 ? 1 : 0;
    } finally {
      await deps.db.close();
    }
  } finally {
    unlock();
  }
}

/** Files named, and the .json and .ndjson files inside folders named (recursively), each folder's in name order. */
export function listFiles(paths: string[]): ImportFile[] {
  return paths.flatMap((path) => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      throw new ImportCommandError(`No such file or folder: ${path}`);
    }
    if (!stat.isDirectory()) {
      return [{ path, name: path, bytes: stat.size }];
    }
    return walk(path).map((file) => ({ path: file, name: relative(path, file) || file, bytes: statSync(file).size }));
  });
}

function walk(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) return walk(path);
      return /\.(nd)?json$/i.test(entry.name) ? [path] : [];
    });
}

export function formatSummary(summary: ImportSummary, seconds: number): string {
  const rate = seconds > 0 ? Math.round(summary.resources / seconds) : 0;
  const lines = [
    `Imported ${summary.resources} resources from ${summary.files} file${summary.files === 1 ? '' : 's'} in ${seconds.toFixed(1)} s (${rate} resources/s).`,
  ];
  if (summary.errors.length === 0) {
    lines.push('No errors.');
  } else {
    lines.push(`${summary.errors.length} error${summary.errors.length === 1 ? '' : 's'}:`);
    for (const error of summary.errors) {
      const where = error.entry !== undefined ? ` entry ${error.entry}` : error.line !== undefined ? ` line ${error.line}` : '';
      lines.push(`  ${printable(error.file)}${where}: ${printable(error.message)}`);
    }
  }
  return lines.join('\n');
}

// Messages can quote file contents; control characters must not reach the operator's terminal.
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD');
}
