/**
 * The options `bench:search` and `bench:policy` share: both import the Synthea set through the
 * API, may copy it in SQL to `--scale` resources, and measure in rotating rounds with the same
 * defaults. A script adds its own options to DATA_OPTIONS and checks them after
 * readDataSettings, so a bad option is reported in the order the options were always checked.
 */
import { resolve } from 'node:path';
import { REPO_ROOT, SERVER_OPTIONS, serverPaths, usage, whole, type ParsedOptions } from './cli-options.js';
import type { AlternatingSettings } from './load.js';
import type { Paths } from './servers.js';

export const DATA_OPTIONS = {
  scale: { type: 'string', default: '0' },
  duration: { type: 'string', default: '6' },
  warmup: { type: 'string', default: '2' },
  rounds: { type: 'string', default: '3' },
  connections: { type: 'string', default: '10' },
  'import-concurrency': { type: 'string', default: '2' },
  'copies-per-step': { type: 'string', default: '4' },
  synthea: { type: 'string' },
  ...SERVER_OPTIONS,
  'keep-database': { type: 'boolean', default: false },
} as const;

export interface DataSettings {
  settings: AlternatingSettings;
  /** At least this many resources after the copy; undefined: the Synthea set only. */
  scale: number | undefined;
  importConcurrency: number;
  copiesPerStep: number;
  syntheaDir: string;
  paths: Paths;
}

export function readDataSettings(args: ParsedOptions<typeof DATA_OPTIONS>): DataSettings {
  const settings = {
    durationSeconds: whole(args.duration, 'duration', 1),
    warmupSeconds: whole(args.warmup, 'warmup', 0),
    rounds: whole(args.rounds, 'rounds', 1),
    connections: whole(args.connections, 'connections', 1),
  };
  if (settings.durationSeconds / settings.rounds < 1) usage('--rounds must leave at least 1 s per round (--duration / --rounds)');
  return {
    settings,
    scale: whole(args.scale, 'scale', 0) || undefined,
    importConcurrency: whole(args['import-concurrency'], 'import-concurrency', 1),
    copiesPerStep: whole(args['copies-per-step'], 'copies-per-step', 1),
    syntheaDir: resolve(REPO_ROOT, args.synthea ?? '../shared/data/synthea'),
    paths: serverPaths(args['server-dir']),
  };
}

/** The seconds allowed, generously, for copying the data to `scale` resources (multiply-data.ts). */
export function copySeconds(scale: number | undefined): number {
  return scale ? Math.max(1200, Math.ceil(scale / 1000)) * 3 : 0;
}
