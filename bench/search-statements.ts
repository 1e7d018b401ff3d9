/**
 * The SQL Tessera runs for a search, obtained by running the server's own search code (its
 * parser, `executeSearch` and `ResourceStore`, loaded from the server package under test) on a
 * Database that records every statement before running it. The statements are then the very
 * text and parameters the HTTP server sends for the same query string, which is what the
 * floor runs and what the bench EXPLAINs; run.ts-side code also checks that this reconstruction
 * returns the same matches as Tessera did over HTTP, so a drift in the server's search path
 * would show up as an error rather than as a plan of the wrong query.
 *
 * Not reconstructed: access policies (the bench's admin has none) and the HTTP layer.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Database, QueryOptions } from '../packages/server/src/db/database.js';

type PgDatabaseModule = typeof import('../packages/server/src/db/pg-database.js');
type StoreModule = typeof import('../packages/server/src/fhir/resource-store.js');
type ScopeModule = typeof import('../packages/server/src/fhir/scope.js');
type ParseModule = typeof import('../packages/server/src/fhir/search/parse.js');
type ExecuteModule = typeof import('../packages/server/src/fhir/search/execute-search.js');
type ProtectedModule = typeof import('../packages/server/src/fhir/protected-types.js');
type RequestContext = import('../packages/server/src/auth/request-context.js').RequestContext;

export interface Statement {
  sql: string;
  params: unknown[];
}

export interface RecordedSearch {
  statements: Statement[];
  /** `Type/id` of the matches (search.mode = match), in order. */
  matches: string[];
  /** `Type/id` of the included resources. */
  included: string[];
}

export interface ServerSearch {
  /** Runs `query` (`Type?a=b&...`) as the server would, in `projectId`, recording its statements. */
  record(projectId: string, query: string): Promise<RecordedSearch>;
  close(): Promise<void>;
}

export async function openServerSearch(serverDir: string, databaseUrl: string, fhirBase: string): Promise<ServerSearch> {
  const load = <T>(path: string): Promise<T> => import(pathToFileURL(join(serverDir, 'src', path)).href) as Promise<T>;
  const [{ openPgDatabase }, { ResourceStore }, { projectScope }, { parseSearchRequest }, { executeSearch }, { unreadableTypes }] = await Promise.all([
    load<PgDatabaseModule>('db/pg-database.ts'),
    load<StoreModule>('fhir/resource-store.ts'),
    load<ScopeModule>('fhir/scope.ts'),
    load<ParseModule>('fhir/search/parse.ts'),
    load<ExecuteModule>('fhir/search/execute-search.ts'),
    load<ProtectedModule>('fhir/protected-types.ts'),
  ]);
  const db = openPgDatabase(databaseUrl, 1);
  let recording: Statement[] = [];
  const recorder: Database = {
    kind: db.kind,
    query: (sql: string, params?: readonly unknown[], options?: QueryOptions) => {
      recording.push({ sql, params: [...(params ?? [])] });
      return db.query(sql, params, options);
    },
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction(fn),
    close: () => db.close(),
  };
  const store = new ResourceStore(recorder);
  // What a project admin may not read (only server-only types): the bench's caller is its project's admin.
  const unreadable = unreadableTypes({ admin: true, superAdmin: false } as RequestContext);
  return {
    async record(projectId, query) {
      const [type = '', queryString = ''] = query.split('?', 2);
      const request = parseSearchRequest(type, [...new URLSearchParams(queryString)], false, unreadable);
      recording = [];
      const result = await executeSearch(store, projectScope(projectId), request, { fhirBase, now: new Date() });
      const ref = (r: { resourceType: string; id?: string }): string => `${r.resourceType}/${r.id}`;
      return { statements: recording, matches: result.resources.map(ref), included: result.included.map(ref) };
    },
    close: () => db.close(),
  };
}
