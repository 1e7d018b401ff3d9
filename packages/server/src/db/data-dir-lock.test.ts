/** The DATA_DIR lock: one process at a time on the embedded database's files. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataDirInUseError, dataDirHolder, lockDataDir } from './data-dir-lock.js';

describe('data dir lock', () => {
  let root: string;
  let dirs = 0;
  const newDir = (): string => join(root, `d${++dirs}`);
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tessera-lock-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('writes this pid, and removes it on release', () => {
    const dir = newDir();
    const release = lockDataDir(dir);
    assert.equal(readFileSync(join(dir, 'tessera.pid'), 'utf8'), String(process.pid));
    release();
    assert.equal(existsSync(join(dir, 'tessera.pid')), false);
  });

  it('refuses while another live process holds it, naming that process', () => {
    const dir = newDir();
    lockDataDir(dir)();
    // The parent (the test runner) is alive and is not this process.
    writeFileSync(join(dir, 'tessera.pid'), String(process.ppid));
    assert.equal(dataDirHolder(dir), process.ppid);
    assert.throws(
      () => lockDataDir(dir),
      (err: unknown) => err instanceof DataDirInUseError && err.holder === process.ppid && err.message.includes(`(pid ${process.ppid})`),
    );
    assert.equal(readFileSync(join(dir, 'tessera.pid'), 'utf8'), String(process.ppid), 'the holder keeps its lock');
  });

  it('takes over a lock left by a process that has exited', () => {
    const dir = newDir();
    lockDataDir(dir)();
    const exited = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dir, 'tessera.pid'), String(exited));
    assert.equal(dataDirHolder(dir), undefined);
    const release = lockDataDir(dir);
    assert.equal(readFileSync(join(dir, 'tessera.pid'), 'utf8'), String(process.pid));
    release();
  });

  it('a release does not remove a lock that another process has taken since', () => {
    const dir = newDir();
    const release = lockDataDir(dir);
    writeFileSync(join(dir, 'tessera.pid'), String(process.ppid));
    release();
    assert.equal(readFileSync(join(dir, 'tessera.pid'), 'utf8'), String(process.ppid));
  });
});
