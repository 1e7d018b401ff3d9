/**
 * The search mix at one data size. For each query: Tessera answers it once over HTTP (a 400
 * means the server does not support that kind yet, and the query is skipped), the server's own
 * search code records the statements it runs (search-statements.ts) and must find the same
 * matches, the floor is given those statements, and then Tessera and the floor are measured in
 * alternating rounds (load.ts). Last, each query's statements are EXPLAINed on the now warm
 * database (query-plans.ts). The floor is started and stopped here, with this size's statements.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import pg from 'pg';
import type { BenchDatabase } from './bench-database.js';
import type { FloorSearch } from './floor.js';
import { measureAlternating, type AlternatingResult, type AlternatingSettings, type LoadRequest } from './load.js';
import { explainSearch, type SearchPlan } from './query-plans.js';
import type { SearchQuery } from './search-mix.js';
import { openServerSearch, type ServerSearch } from './search-statements.js';
import { startFloor, type Paths, type RunningServer } from './servers.js';
import type { Statement } from './statement-recorder.js';

export interface QueryResult extends AlternatingResult {
  query: SearchQuery;
  /** Matches and included resources on the page Tessera answered. */
  matches: number;
  included: number;
  plan: SearchPlan;
  statements: Statement[];
}

export interface UnsupportedQuery {
  query: SearchQuery;
  status: number;
  message: string;
}

export interface SizeResult {
  label: string;
  /** Rows of `resource` in the bench project, and of all search index tables together. */
  resources: number;
  indexRows: number;
  queries: QueryResult[];
  unsupported: UnsupportedQuery[];
  loadAverage: { before: number; after: number };
}

export interface MeasureContext {
  paths: Paths;
  db: BenchDatabase;
  tessera: RunningServer;
  token: string;
  projectId: string;
  settings: AlternatingSettings;
  log: (line: string) => void;
  /** Registers the floor so the run's cleanup stops it whatever happens. */
  track: (server: RunningServer) => void;
  readLoadAverage: () => number;
}

const PAGE_SIZE = 20;

/** A query Tessera answered, with the statements the server's code runs for it and what they found. */
interface CheckedQuery {
  query: SearchQuery;
  statements: Statement[];
  matches: string[];
  included: string[];
}

export async function measureSize(label: string, mix: SearchQuery[], ctx: MeasureContext): Promise<SizeResult> {
  const loadBefore = ctx.readLoadAverage();
  const serverSearch = await openServerSearch(ctx.paths.serverDir, ctx.db.url, `${ctx.tessera.origin}/fhir/R4/`);
  const client = new pg.Client({ connectionString: ctx.db.url });
  await client.connect();
  try {
    const { supported, unsupported } = await checkQueries(mix, serverSearch, ctx);
    const measured = await loadQueries(label, supported, ctx);
    const results: QueryResult[] = [];
    for (const { checked, ...load } of measured) {
      const plan = await explainSearch(client, checked.statements);
      ctx.log(`  plan of ${checked.query.kind}: ${plan.executionMs.toFixed(2)} ms in PostgreSQL; ${plan.scans.join(', ')}`);
      results.push({ ...load, query: checked.query, matches: checked.matches.length, included: checked.included.length, plan, statements: checked.statements });
    }
    const sizes = await countRows(client, ctx.projectId);
    return { label, ...sizes, queries: results, unsupported, loadAverage: { before: loadBefore, after: ctx.readLoadAverage() } };
  } finally {
    await client.end();
    await serverSearch.close();
  }
}

/** Each query once over HTTP (a 400 or 501: not supported yet), then recorded by the server's code, which must agree. */
async function checkQueries(mix: SearchQuery[], serverSearch: ServerSearch, ctx: MeasureContext): Promise<{ supported: CheckedQuery[]; unsupported: UnsupportedQuery[] }> {
  const supported: CheckedQuery[] = [];
  const unsupported: UnsupportedQuery[] = [];
  for (const query of mix) {
    const answer = await getSearch(ctx.tessera.origin, ctx.token, query.query);
    if (answer.status === 400 || answer.status === 501) {
      ctx.log(`  ${query.kind}: Tessera answered ${answer.status} (${answer.message}); skipped`);
      unsupported.push({ query, status: answer.status, message: answer.message });
      continue;
    }
    if (answer.status !== 200) {
      throw new Error(`${query.query} answered ${answer.status}: ${answer.message}`);
    }
    const recorded = await serverSearch.record(ctx.projectId, query.query);
    if (!sameAnswer(recorded, answer)) {
      throw new Error(`The server's search code, run by the bench, found other resources than Tessera did for ${query.query}: ` +
        `${recorded.matches.length}+${recorded.included.length} against ${answer.matches.length}+${answer.included.length}`);
    }
    ctx.log(`  ${query.kind}: ${answer.matches.length} matches${answer.included.length ? ` and ${answer.included.length} included` : ''} on the page, ` +
      `${recorded.statements.length} statement(s)`);
    supported.push({ query, statements: recorded.statements, matches: answer.matches, included: answer.included });
  }
  return { supported, unsupported };
}

/** The floor started with these statements; then each query on both servers, in alternating rounds. */
async function loadQueries(label: string, checked: CheckedQuery[], ctx: MeasureContext): Promise<Array<AlternatingResult & { checked: CheckedQuery }>> {
  const work = mkdtempSync(join(tmpdir(), 'tessera-bench-search-'));
  const searchesFile = join(work, 'searches.json');
  const floorSearches: FloorSearch[] = checked.map((c) => ({ path: `/fhir/R4/${c.query.query}`, count: PAGE_SIZE, statements: c.statements }));
  writeFileSync(searchesFile, JSON.stringify(floorSearches));
  const measured: Array<AlternatingResult & { checked: CheckedQuery }> = [];
  try {
    const floor = await startFloor(ctx.paths, ctx.db, ctx.projectId, searchesFile);
    ctx.track(floor);
    try {
      const targets = { tessera: { origin: ctx.tessera.origin, pid: ctx.tessera.child.pid }, floor: { origin: floor.origin, pid: floor.child.pid } };
      for (const c of checked) {
        if (!sameAnswer(await getSearch(floor.origin, ctx.token, c.query.query), c)) {
          throw new Error(`The floor answered ${c.query.query} differently from Tessera`);
        }
        ctx.log(`Search (${label}): ${c.query.kind} ${decodeURIComponent(c.query.query)}`);
        const request: LoadRequest = {
          method: 'GET',
          headers: { authorization: `Bearer ${ctx.token}`, accept: 'application/fhir+json' },
          nextPath: () => `/fhir/R4/${c.query.query}`,
        };
        measured.push({ ...(await measureAlternating(targets, request, ctx.settings, ctx.log)), checked: c });
      }
    } finally {
      await floor.child.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return measured;
}

interface SearchAnswer {
  status: number;
  message: string;
  matches: string[];
  included: string[];
}

async function getSearch(origin: string, token: string, query: string): Promise<SearchAnswer> {
  const response = await fetch(`${origin}/fhir/R4/${query}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' },
    signal: AbortSignal.timeout(60_000),
  });
  const body = (await response.json().catch(() => undefined)) as (Bundle & { issue?: Array<{ diagnostics?: string; details?: { text?: string } }> }) | undefined;
  const refs = (mode: string): string[] =>
    (body?.entry ?? []).filter((e) => e.search?.mode === mode).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
  const issue = body?.issue?.[0];
  return {
    status: response.status,
    message: issue?.details?.text ?? issue?.diagnostics ?? '',
    matches: refs('match'),
    included: refs('include'),
  };
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The same matches in the same order, and the same included resources in any order. */
function sameAnswer(a: { matches: string[]; included: string[] }, b: { matches: string[]; included: string[] }): boolean {
  return sameList(a.matches, b.matches) && sameList([...a.included].sort(), [...b.included].sort());
}

async function countRows(client: pg.Client, projectId: string): Promise<{ resources: number; indexRows: number }> {
  const { rows: tables } = await client.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'resource_id' AND table_name LIKE 'search\\_%'`,
  );
  const count = async (table: string): Promise<number> =>
    Number((await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE project_id = $1`, [projectId])).rows[0]?.n ?? 0);
  let indexRows = 0;
  for (const { table_name: table } of tables) indexRows += await count(table);
  return { resources: await count('resource'), indexRows };
}
