/**
 * The embedded database's files can be opened by one process at a time. `serve` takes this
 * lock in DATA_DIR; the other commands check it and refuse with a clear message instead of
 * opening the files twice (which would corrupt them).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function lockPath(dataDir: string): string {
  return join(dataDir, 'tessera.pid');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of another live process that holds DATA_DIR, if any. */
export function dataDirHolder(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(lockPath(dataDir), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock or throws naming the holder; returns a function that releases it. */
export function lockDataDir(dataDir: string): () => void {
  const holder = dataDirHolder(dataDir);
  if (holder) {
    throw new Error(`${dataDir} is in use by process ${holder} (a running tessera server). Stop it first, or use DATABASE_URL for a shared PostgreSQL.`);
  }
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(lockPath(dataDir), String(process.pid));
  return () => rmSync(lockPath(dataDir), { force: true });
}
