/**
 * Embedded start: how long `node --import tsx packages/server/src/main.ts` takes, on the
 * embedded PGlite database, from spawn until GET /healthz answers 200, and how much memory
 * the process holds once idle. Measured on an empty DATA_DIR (first run: the database is
 * initialised and migrated, a signing key generated) and again on the same, now existing,
 * DATA_DIR. No ADMIN_EMAIL is set, so no password hashing is counted: this is the server's
 * own start, not the first-run admin bootstrap.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRssMB, startChild, waitForOk } from './child-processes.js';

export interface EmbeddedStart {
  label: string;
  readyMs: number;
  idleRssMB: number | undefined;
}

export interface EmbeddedStartOptions {
  repoRoot: string;
  serverEntry: string;
  port: () => Promise<number>;
  /** How long to let the process settle before reading its RSS. */
  idleMs: number;
  timeoutMs: number;
  log: (line: string) => void;
}

async function startOnce(options: EmbeddedStartOptions, dataDir: string, label: string): Promise<EmbeddedStart> {
  const port = await options.port();
  const started = performance.now();
  const child = startChild(`embedded ${label}`, process.execPath, ['--import', 'tsx', options.serverEntry], {
    cwd: options.repoRoot,
    env: { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', BASE_URL: `http://127.0.0.1:${port}/`, LOG_LEVEL: 'warn' },
    echoStderr: true,
  });
  try {
    await waitForOk(`http://127.0.0.1:${port}/healthz`, child, options.timeoutMs, 10);
    const readyMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, options.idleMs));
    const idleRssMB = readRssMB(child.pid);
    options.log(`  ${label} DATA_DIR: ready in ${Math.round(readyMs)} ms, idle RSS ${idleRssMB?.toFixed(0) ?? '?'} MB`);
    return { label, readyMs, idleRssMB };
  } finally {
    // Stopped cleanly, so the second start finds the data directory unlocked.
    await child.stop(10_000);
  }
}

export async function measureEmbeddedStart(options: EmbeddedStartOptions): Promise<EmbeddedStart[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-bench-data-'));
  try {
    const fresh = await startOnce(options, dataDir, 'empty');
    const existing = await startOnce(options, dataDir, 'existing');
    return [fresh, existing];
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
