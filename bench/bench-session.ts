/**
 * What every entry script does around its own measuring: it timestamps its log lines, bounds
 * the whole run with a watchdog, and whichever way the run ends (normally, on an error, on
 * Ctrl-C or SIGTERM, or at the watchdog) stops the servers it started, kills any other child
 * and drops the throwaway database, once; then exits with what the script's main returned.
 * It knows nothing of what is measured or of RESULTS.md's sections.
 */
import { join } from 'node:path';
import { createBenchDatabase, type BenchDatabase } from './bench-database.js';
import { killAllChildren, type Child } from './child-processes.js';
import { REPO_ROOT } from './cli-options.js';
import type { AlternatingSettings } from './load.js';

export interface SessionOptions {
  /** The log lines' prefix: `bench`, `bench:search`, ... */
  name: string;
  /** The whole run's bound: at this, the session cleans up and exits with 1. */
  budgetSeconds: number;
  /** Width of the log lines' seconds column (6: up to 9999.9 s). */
  secondsWidth?: number;
  /** Leave the database in place at the end, saying how to drop it (`--keep-database`). */
  keepDatabase?: boolean;
  /** Say so before dropping the database (`bench:invite` drops it without a word). */
  announceDrop?: boolean;
  /** How long an interrupted run waits for its clean-up before exiting anyway. */
  abortGraceMs?: number;
}

export interface BenchSession {
  log(line: string): void;
  /** Creates the run's database; the clean-up drops it. */
  createDatabase(adminUrl: string): Promise<BenchDatabase>;
  /** Registers a server (or other child) for the clean-up to stop, whatever happens. */
  track(child: Child): void;
  /** Writes bench/RESULTS.md through `write` unless `--no-write`, and says which it did. */
  saveResults(noWrite: boolean, write: (path: string) => void): void;
  /** The exit code for a run whose requests had `failures` failures, saying why it is not 0. */
  exitCodeFor(failures: number): number;
  /** Runs `main`, cleans up and exits the process with main's code (1 if it threw). */
  run(main: () => Promise<number>): Promise<never>;
}

/**
 * The seconds `slices` runs of load take at `settings` (a warm-up and the measured seconds
 * each), with room for autocannon's start and stop: the part of a budget that grows with them.
 */
export function loadSeconds(settings: AlternatingSettings, slices: number): number {
  return slices * (settings.warmupSeconds + settings.durationSeconds + settings.rounds + 5);
}

/** Starts the clock, the signal handlers and the watchdog; call it once options are checked. */
export function openBenchSession(options: SessionOptions): BenchSession {
  const { name, budgetSeconds, secondsWidth = 6, keepDatabase = false, announceDrop = true, abortGraceMs = 20_000 } = options;
  const startedAt = performance.now();
  const log = (line: string): void => {
    const seconds = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(secondsWidth);
    console.log(`[${name} ${seconds}s] ${line}`);
  };

  let database: BenchDatabase | undefined;
  const children: Child[] = [];
  let cleaning: Promise<void> | undefined;
  // Once, however many ways the run tries to end at the same time (a signal during the watchdog's clean-up).
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      await Promise.allSettled(children.map((c) => c.stop()));
      killAllChildren();
      if (database && keepDatabase) {
        log(`Keeping database ${database.name} (--keep-database): drop it with DROP DATABASE ${database.name} WITH (FORCE)`);
      } else if (database) {
        if (announceDrop) log(`Dropping database ${database.name}`);
        await database.drop().catch((err: Error) => log(`Could not drop ${database?.name}: ${err.message}`));
      }
    })();
    return cleaning;
  };

  const abort = (reason: string, code: number): void => {
    log(reason);
    // A clean-up that hangs (a database that does not answer) must not keep the process alive.
    setTimeout(() => process.exit(code), abortGraceMs).unref();
    void cleanup().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => abort('Interrupted; cleaning up', 130));
  process.once('SIGTERM', () => abort('Terminated; cleaning up', 143));
  const watchdog = setTimeout(() => abort(`Time limit of ${budgetSeconds} s reached; stopping`, 1), budgetSeconds * 1000);

  return {
    log,
    async createDatabase(adminUrl) {
      database = await createBenchDatabase(adminUrl);
      return database;
    },
    track: (child) => void children.push(child),
    saveResults(noWrite, write) {
      if (noWrite) {
        log('Not writing RESULTS.md (--no-write)');
        return;
      }
      const path = join(REPO_ROOT, 'bench/RESULTS.md');
      write(path);
      log(`Wrote ${path}`);
    },
    exitCodeFor(failures) {
      if (failures > 0) {
        log(`${failures} requests failed: the figures above are not trustworthy`);
        return 1;
      }
      return 0;
    },
    async run(main) {
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
    },
  };
}
