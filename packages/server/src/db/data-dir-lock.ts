/**
 * The embedded database's files can be opened by one process at a time. Every command that
 * opens them (`serve`, and `migrate`, `create-admin`, `token`...) first takes this lock: a
 * pid file in DATA_DIR, created atomically. A second process is refused with a clear message
 * naming the holder instead of opening the files twice (which would corrupt them). A lock left
 * by a process that died is taken over.
 *
 * Not a lock for PostgreSQL (`DATABASE_URL`): several servers share one by design.
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

function readHolder(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(lockPath(dataDir), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The pid of another live process that holds DATA_DIR, if any. */
export function dataDirHolder(dataDir: string): number | undefined {
  const pid = readHolder(dataDir);
  return pid !== undefined && pid !== process.pid && isAlive(pid) ? pid : undefined;
}

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: number,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by another tessera process (pid ${holder}), such as a running server. ` +
        'Stop it first, or run against PostgreSQL with DATABASE_URL.',
    );
    this.name = 'DataDirInUseError';
  }
}

/** Takes the lock or throws DataDirInUseError; returns a function that releases it. */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const path = lockPath(dataDir);
  // Two rounds: the second after clearing a lock whose holder has died.
  for (let round = 0; round < 2; round++) {
    try {
      // `wx` fails when the file exists, so of two processes starting at once only one wins.
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return () => {
        if (readHolder(dataDir) === process.pid) {
          rmSync(path, { force: true });
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw err;
      }
    }
    const holder = dataDirHolder(dataDir);
    if (holder !== undefined) {
      throw new DataDirInUseError(dataDir, holder);
    }
    rmSync(path, { force: true });
  }
  throw new DataDirInUseError(dataDir, readHolder(dataDir) ?? 0);
}
