/**
 * The entry scripts' command line: options read with node:util's parseArgs, numbers checked,
 * and paths resolved against the repository. A bad option ends the run before it starts
 * anything, with a message rather than a stack. Which options a script takes, and their
 * defaults, stay in the script (bench/README.md describes them); this holds only the parts
 * every script reads the same way.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Paths } from './servers.js';

/** The repository's root: this file is in its bench/ folder. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the throwaway database is created (bench-database.ts): a local PostgreSQL by default. */
export const POSTGRES_OPTION = { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' } as const;

/** What `npm run bench`, `bench:search` and `bench:policy` all take ("as for npm run bench" in the README). */
export const SERVER_OPTIONS = {
  postgres: POSTGRES_OPTION,
  'server-dir': { type: 'string', default: 'packages/server' },
  'no-write': { type: 'boolean', default: false },
} as const;

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;
export type ParsedOptions<T extends OptionSpecs> = ReturnType<typeof parseArgs<{ options: T }>>['values'];

export function usage(message: string): never {
  console.error(`${message}\nOptions are described in bench/README.md.`);
  process.exit(2);
}

/** This process's options; an unknown option or a positional argument ends the run (exit 2). */
export function readArgs<T extends OptionSpecs>(options: T): ParsedOptions<T> {
  try {
    return parseArgs({ options }).values;
  } catch (err) {
    return usage((err as Error).message);
  }
}

export function whole(value: string, name: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) usage(`--${name} must be a whole number of at least ${min}`);
  return n;
}

/** Fractions allowed (`--duration 2.5`): `npm run bench` has always taken them. */
export function positive(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) usage(`--${name} must be a positive number`);
  return n;
}

/** `--server-dir` (relative to the repository) as the paths servers.ts starts servers from. */
export function serverPaths(serverDir: string): Paths {
  return { repoRoot: REPO_ROOT, serverDir: resolve(REPO_ROOT, serverDir) };
}
