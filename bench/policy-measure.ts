/**
 * The access-policy comparison at one data size: the same Tessera answers one search for several
 * callers (the admin with an explicit `subject=` filter, and a Patient member per policy variant
 * without it). First the callers must see the same resources: the page in the same order, and all
 * matches (up to CHECK_COUNT) as a set; the server's own search code, run by the bench with each
 * caller's policy (policy-statements.ts), must find that page too, which yields the statements
 * EXPLAINed at the end. Then the callers are measured in rounds of one autocannon slice each
 * (load.ts), the order rotating every round so background load falls on all of them alike.
 */
import type { Bundle } from '@medplum/fhirtypes';
import pg from 'pg';
import { runSlice, summarize, type AlternatingSettings, type LoadResult, type LoadTarget, type Slice } from './load.js';
import type { MemberSearch } from './policy-statements.js';
import { explainSearch, explainText, type SearchPlan } from './query-plans.js';
import type { Statement } from './statement-recorder.js';

export interface Caller {
  /** `admin`, or the policy variant. */
  name: string;
  token: string;
  /** `Observation?...`, as sent after /fhir/R4/. */
  query: string;
  /** The member whose policy applies; undefined for the admin. */
  membershipId?: string;
}

export interface CallerResult {
  caller: Omit<Caller, 'token'>;
  load: LoadResult;
  /** This caller's p50 in each round, to set against the admin's in the same round. */
  roundP50Ms: number[];
  plan: SearchPlan;
  planText: string;
  statements: Statement[];
}

export interface Comparison {
  /** Matches on the measured page (default page size) and in all (up to CHECK_COUNT). */
  pageMatches: number;
  allMatches: number;
  callers: CallerResult[];
}

const CHECK_COUNT = 1000;

async function searchIds(origin: string, token: string, query: string): Promise<string[]> {
  const response = await fetch(`${origin}/fhir/R4/${query}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
    signal: AbortSignal.timeout(120_000),
  });
  const body = (await response.json().catch(() => undefined)) as Bundle | undefined;
  if (response.status !== 200 || !body) throw new Error(`${query} answered ${response.status}: ${JSON.stringify(body).slice(0, 500)}`);
  return (body.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
}

const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Every caller sees the same resources, and the recorded statements find them too; returns each caller's statements. */
async function checkCallers(origin: string, projectId: string, callers: Caller[], search: MemberSearch, log: (line: string) => void): Promise<{ page: string[]; all: string[]; statements: Statement[][] }> {
  const [first] = callers;
  if (!first) throw new Error('No callers to compare');
  const page = await searchIds(origin, first.token, first.query);
  const all = (await searchIds(origin, first.token, `${first.query}&_count=${CHECK_COUNT}`)).sort();
  if (page.length === 0) throw new Error(`${first.name}: ${first.query} found nothing; the comparison would be empty`);
  const statements: Statement[][] = [];
  for (const caller of callers) {
    const mine = await searchIds(origin, caller.token, caller.query);
    if (!same(mine, page)) throw new Error(`${caller.name} sees another page than ${first.name}: ${mine.length} against ${page.length} matches`);
    const mineAll = (await searchIds(origin, caller.token, `${caller.query}&_count=${CHECK_COUNT}`)).sort();
    if (!same(mineAll, all)) throw new Error(`${caller.name} finds other resources than ${first.name}: ${mineAll.length} against ${all.length}`);
    const recorded = await search.record(projectId, caller.query, caller.membershipId);
    if (!same(recorded.matches, page)) {
      throw new Error(`The server's search code, run by the bench as ${caller.name}, found ${recorded.matches.length} matches, Tessera answered ${page.length}`);
    }
    log(`  ${caller.name}: the same ${page.length} matches on the page (${all.length} in all), ${recorded.statements.length} statement(s)`);
    statements.push(recorded.statements);
  }
  return { page, all, statements };
}

/** Each caller in turn, one slice per round, the order rotating each round; warm-ups unrecorded. */
async function measureRounds(target: LoadTarget, callers: Caller[], settings: AlternatingSettings, log: (line: string) => void): Promise<Slice[][]> {
  const requestOf = (c: Caller) => ({
    method: 'GET' as const,
    headers: { authorization: `Bearer ${c.token}`, accept: 'application/fhir+json' },
    nextPath: () => `/fhir/R4/${c.query}`,
  });
  if (settings.warmupSeconds > 0) {
    log(`  warm-up: ${settings.warmupSeconds} s each`);
    for (const c of callers) await runSlice(target, requestOf(c), settings.connections, settings.warmupSeconds);
  }
  const slices: Slice[][] = callers.map(() => []);
  for (let round = 0; round < settings.rounds; round++) {
    const order = callers.map((_, i) => (i + round) % callers.length);
    for (const i of order) {
      (slices[i] as Slice[]).push(await runSlice(target, requestOf(callers[i] as Caller), settings.connections, settings.durationSeconds / settings.rounds));
    }
    const p50s = slices.map((s, i) => `${callers[i]?.name} ${summarize([s[round] as Slice]).p50Ms.toFixed(2)} ms`);
    log(`  round ${round + 1}/${settings.rounds}: p50 ${p50s.join(', ')}`);
  }
  return slices;
}

export async function compareCallers(options: {
  target: LoadTarget;
  databaseUrl: string;
  projectId: string;
  callers: Caller[];
  search: MemberSearch;
  settings: AlternatingSettings;
  log: (line: string) => void;
}): Promise<Comparison> {
  const { target, callers, log } = options;
  const checked = await checkCallers(target.origin, options.projectId, callers, options.search, log);
  const slices = await measureRounds(target, callers, options.settings, log);
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    const results: CallerResult[] = [];
    for (const [i, caller] of callers.entries()) {
      const mine = slices[i] as Slice[];
      const statements = checked.statements[i] as Statement[];
      const load = summarize(mine);
      const plan = await explainSearch(client, statements);
      log(`  ${caller.name}: ${load.requestsPerSecond.toFixed(0)} req/s, p50 ${load.p50Ms.toFixed(2)} ms, p99 ${load.p99Ms.toFixed(2)} ms, ` +
        `failures ${load.failures}; SQL ${plan.executionMs.toFixed(2)} ms (${plan.scans.join(', ')})`);
      const { token: _token, ...shown } = caller;
      results.push({ caller: shown, load, roundP50Ms: mine.map((s) => summarize([s]).p50Ms), plan, planText: await explainText(client, statements), statements });
    }
    return { pageMatches: checked.page.length, allMatches: checked.all.length, callers: results };
  } finally {
    await client.end();
  }
}
