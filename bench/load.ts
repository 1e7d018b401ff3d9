/**
 * Load generation and its figures. A measurement is made of slices: autocannon (in-process
 * API) against one server for a few seconds, recording every response's latency at full
 * precision and the CPU time the server process used meanwhile (from /proc). run.ts
 * interleaves the slices of Tessera and the floor, so both see the same background load,
 * and `summarize` merges one server's slices into a single result.
 */
import { execFileSync } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Called for every request: lets a scenario spread reads over many ids. */
  nextPath(): string;
}

export interface LoadTarget {
  origin: string;
  /** The server's pid, to read its CPU time. */
  pid: number;
}

export interface Slice {
  /** 2xx responses. */
  requests: number;
  /** Responses outside 2xx plus connection errors and timeouts. */
  failures: number;
  seconds: number;
  /** Server CPU time (user + system, all threads) during the slice; undefined off Linux. */
  cpuSeconds: number | undefined;
  /** Latency of every 2xx response, in milliseconds. */
  latenciesMs: Float64Array;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Anything but 0 spoils the figures. */
  failures: number;
  /** Server CPU time per answered request, in microseconds. */
  serverCpuMicrosPerRequest: number | undefined;
}

const CLOCK_TICKS_PER_SECOND = readClockTicks();

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** utime + stime of a whole process (all its threads), in seconds. */
function readCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; count fields after its closing paren.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Runs autocannon against one server for `seconds` (a warm-up is a slice whose figures are dropped). */
export async function runSlice(target: LoadTarget, request: LoadRequest, connections: number, seconds: number): Promise<Slice> {
  let latencies = new Float64Array(16_384);
  let count = 0;
  const cpuBefore = readCpuSeconds(target.pid);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.origin,
        connections,
        duration: seconds,
        timeout: 10,
        requests: [
          {
            method: request.method,
            headers: request.headers,
            body: request.body,
            setupRequest: (req) => ({ ...req, path: request.nextPath() }),
          },
        ],
      },
      (err, res) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(res)),
    );
    // autocannon's own histogram keeps whole milliseconds; the event carries the exact figure.
    // Its first argument is the client (the @types signature leaves it out).
    (instance as EventEmitter).on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status < 200 || status > 299) return;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = ms;
    });
  });
  const cpuAfter = readCpuSeconds(target.pid);
  return {
    requests: result['2xx'],
    failures: result.non2xx + result.errors,
    seconds: result.duration,
    cpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
    latenciesMs: latencies.slice(0, count),
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

export function requestsPerSecond(slice: Pick<Slice, 'requests' | 'seconds'>): number {
  return slice.seconds > 0 ? slice.requests / slice.seconds : 0;
}

/** One server's slices as one result: totals for rates, all latencies pooled for percentiles. */
export function summarize(slices: Slice[]): LoadResult {
  const requests = slices.reduce((n, s) => n + s.requests, 0);
  const seconds = slices.reduce((n, s) => n + s.seconds, 0);
  const cpu = slices.some((s) => s.cpuSeconds === undefined) ? undefined : slices.reduce((n, s) => n + (s.cpuSeconds ?? 0), 0);
  const all = new Float64Array(slices.reduce((n, s) => n + s.latenciesMs.length, 0));
  let offset = 0;
  for (const s of slices) {
    all.set(s.latenciesMs, offset);
    offset += s.latenciesMs.length;
  }
  all.sort();
  return {
    requestsPerSecond: requestsPerSecond({ requests, seconds }),
    p50Ms: percentile(all, 0.5),
    p99Ms: percentile(all, 0.99),
    requests,
    failures: slices.reduce((n, s) => n + s.failures, 0),
    serverCpuMicrosPerRequest: cpu === undefined || requests === 0 ? undefined : (cpu * 1e6) / requests,
  };
}

export interface AlternatingSettings {
  connections: number;
  /** Measured seconds per server, split evenly over the rounds. */
  durationSeconds: number;
  rounds: number;
  /** Unrecorded seconds per server first (0 for none). */
  warmupSeconds: number;
}

export interface AlternatingResult {
  tessera: LoadResult;
  floor: LoadResult;
  /** Tessera req/s over floor req/s in each round: their spread shows how noisy the run was. */
  roundRatios: number[];
}

/**
 * Tessera and the floor under the same request: a warm-up of each, then `rounds` rounds of one
 * slice each, alternating which server goes first, so that a burst of background load falls
 * on both rather than on one.
 */
export async function measureAlternating(
  targets: { tessera: LoadTarget; floor: LoadTarget },
  request: LoadRequest,
  settings: AlternatingSettings,
  log: (line: string) => void,
): Promise<AlternatingResult> {
  const names = ['tessera', 'floor'] as const;
  const { connections, rounds, warmupSeconds } = settings;
  if (warmupSeconds > 0) {
    log(`  warm-up: ${warmupSeconds} s each`);
    for (const name of names) await runSlice(targets[name], request, connections, warmupSeconds);
  }
  const slices: Record<(typeof names)[number], Slice[]> = { tessera: [], floor: [] };
  const roundRatios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) slices[name].push(await runSlice(targets[name], request, connections, settings.durationSeconds / rounds));
    const [t, f] = [slices.tessera[round] as Slice, slices.floor[round] as Slice];
    roundRatios.push(requestsPerSecond(t) / requestsPerSecond(f));
    log(`  round ${round + 1}/${rounds}: tessera ${requestsPerSecond(t).toFixed(0)} req/s, floor ${requestsPerSecond(f).toFixed(0)} req/s`);
  }
  const result = { tessera: summarize(slices.tessera), floor: summarize(slices.floor), roundRatios };
  for (const name of names) {
    const r = result[name];
    log(`  ${name}: ${r.requestsPerSecond.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ` +
      `server CPU ${r.serverCpuMicrosPerRequest?.toFixed(0) ?? '?'} µs/req, failures ${r.failures}`);
  }
  return result;
}
