/**
 * The bench's child processes (the Tessera server, the floor, `tessera token`). Each runs in
 * its own process group, so stopping it stops whatever it spawned too, and every child still
 * running is killed when the bench exits, however it exits (error, Ctrl-C, watchdog).
 * It does not restart anything: a child that dies makes the step waiting on it fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** The last few kilobytes the process wrote, for error messages. */
  output(): string;
  /** SIGTERM to the group, then SIGKILL if it is still alive after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  cwd: string;
  env: Record<string, string>;
  /** Print the child's stderr as it comes, prefixed with its name (warnings of a server). */
  echoStderr?: boolean;
  /** Receives the whole of stdout (the output tail keeps only its end). */
  onStdout?: (text: string) => void;
}

const OUTPUT_TAIL_BYTES = 8 * 1024;
const running = new Set<ChildProcess>();

function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) {
    return;
  }
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Synchronous, so it also works from `process.on('exit')`. */
export function killAllChildren(): void {
  for (const proc of running) {
    killGroup(proc, 'SIGKILL');
  }
  running.clear();
}

process.on('exit', killAllChildren);

export function startChild(name: string, command: string, args: string[], options: StartOptions): Child {
  // A minimal environment plus what the caller gives: no ambient DATABASE_URL or PORT leaks in.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env };
  const proc = spawn(command, args, { cwd: options.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (proc.pid === undefined) {
    throw new Error(`Could not start ${name} (${command})`);
  }
  running.add(proc);
  let tail = '';
  const keep = (text: string): void => {
    tail = (tail + text).slice(-OUTPUT_TAIL_BYTES);
  };
  proc.stdout?.setEncoding('utf8').on('data', (text: string) => {
    keep(text);
    options.onStdout?.(text);
  });
  proc.stderr?.setEncoding('utf8').on('data', (text: string) => {
    keep(text);
    if (options.echoStderr) {
      for (const line of text.split('\n').filter(Boolean)) {
        process.stderr.write(`  [${name}] ${line}\n`);
      }
    }
  });
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      running.delete(proc);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const pid = proc.pid;
  return {
    name,
    pid,
    exited,
    output: () => tail,
    async stop(graceMs = 5000) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        return;
      }
      killGroup(proc, 'SIGTERM');
      const timer = setTimeout(() => killGroup(proc, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a command to its end and returns its stdout; fails on a non-zero exit or after `timeoutMs`. */
export async function runToEnd(name: string, command: string, args: string[], options: StartOptions & { timeoutMs: number }): Promise<string> {
  let stdout = '';
  const child = startChild(name, command, args, { ...options, onStdout: (text) => (stdout += text) });
  const timer = setTimeout(() => void child.stop(1000), options.timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(`${name} ended with ${code}:\n${child.output()}`);
  }
  return stdout;
}

/** Polls `url` until it answers 200; fails early, with the child's output, if the child dies. */
export async function waitForOk(url: string, child: Child, timeoutMs: number, pollMs = 20): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let died: number | string | undefined;
  void child.exited.then((code) => {
    died = code;
  });
  while (performance.now() < deadline) {
    if (died !== undefined) {
      throw new Error(`${child.name} exited (${died}) before ${url} answered:\n${child.output()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) {
        return;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${child.output()}`);
}

/** Resident memory of a process, from /proc (Linux only), in MB (10^6 bytes, as the aims are written). */
export function readRssMB(pid: number): number | undefined {
  try {
    // /proc says "kB" but means KiB.
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m);
    return match ? (Number(match[1]) * 1024) / 1e6 : undefined;
  } catch {
    return undefined;
  }
}
