/**
 * What a result was measured on: the code (commit, and whether the tree had changes) and the
 * machine. Git is only read, with `--no-optional-locks` so that the bench never takes the
 * index lock from under someone committing at the same time.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

export interface CodeVersion {
  commit: string;
  /** Files changed or untracked when the bench ran (0 for a clean tree). */
  changedFiles: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  postgres: string;
}

export function readCodeVersion(repoRoot: string): CodeVersion {
  const git = (...args: string[]): string =>
    execFileSync('git', ['--no-optional-locks', ...args], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const commit = git('rev-parse', '--short', 'HEAD').trim();
    const changedFiles = git('status', '--porcelain').split('\n').filter(Boolean).length;
    return { commit, changedFiles };
  } catch {
    return { commit: 'unknown', changedFiles: 0 };
  }
}

export function describeMachine(postgresVersion: string): Machine {
  const all = cpus();
  return {
    cpu: all[0]?.model.trim() ?? 'unknown',
    cores: all.length,
    memoryGiB: totalmem() / 1024 ** 3,
    node: process.version,
    postgres: postgresVersion,
  };
}

/** The one-minute load average: how busy the shared machine was around the run. */
export function readLoadAverage(): number {
  return loadavg()[0] ?? 0;
}
