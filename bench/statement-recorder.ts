/**
 * The SQL Tessera runs for a search, obtained by running the server's own search code (its
 * parser, `executeSearch` and `ResourceStore`, loaded from the server package under test) on a
 * Database that records every statement before running it. The statements are then the very
 * text and parameters the HTTP server sends for the same query string, which is what the floor
 * runs and what the bench EXPLAINs. Its users (search-statements.ts for the project's admin,
 * policy-statements.ts for a member under an access policy) check that what it finds equals
 * what Tessera answered over HTTP, so a drift between this and the server's request path shows
 * as an error rather than as a plan of the wrong query.
 *
 * Not reconstructed: the HTTP layer; who the caller is and what policy narrows it are the
 * user's to say.
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
type AccessCheck = NonNullable<import('../packages/server/src/fhir/search/sql.js').CompileContext['access']>;

export interface Statement {
  sql: string;
  params: unknown[];
  /**
   * One of the page's statements (ResourceStore.search): a page may take several attempts, each
   * run only when the one before returned fewer rows than asked for; the others (`_include`s)
   * run once each.
   */
  page?: boolean;
}

export interface RecordedSearch {
  statements: Statement[];
  /** `Type/id` of the matches (search.mode = match), in order. */
  matches: string[];
  /** `Type/id` of the included resources. */
  included: string[];
}

/** The caller as far as the search code asks: which types it may not read depends on these. */
export interface Searcher {
  admin: boolean;
  superAdmin: boolean;
}

/** The bench's callers that no policy narrows: each project's owner is its admin. */
export const PROJECT_ADMIN: Searcher = { admin: true, superAdmin: false };

export interface StatementRecorder {
  /** The database underneath, for reads that are not part of the search (not recorded). */
  readonly db: Database;
  /** Runs `query` (`Type?a=b&...`) in `projectId` as `searcher`, narrowed by `access` if given. */
  record(projectId: string, query: string, searcher: Searcher, access?: AccessCheck): Promise<RecordedSearch>;
  close(): Promise<void>;
}

/** A module of the server under test, `path` relative to its src/ (not the bench's own copy of it). */
export function loadServerModule<T>(serverDir: string, path: string): Promise<T> {
  return import(pathToFileURL(join(serverDir, 'src', path)).href) as Promise<T>;
}

export async function openStatementRecorder(serverDir: string, databaseUrl: string, fhirBase: string): Promise<StatementRecorder> {
  const load = <T>(path: string): Promise<T> => loadServerModule<T>(serverDir, path);
  const [{ openPgDatabase }, { ResourceStore }, { projectScope }, { parseSearchRequest }, { executeSearch }, { unreadableTypes }] = await Promise.all([
    load<PgDatabaseModule>('db/pg-database.ts'),
    load<StoreModule>('fhir/resource-store.ts'),
    load<ScopeModule>('fhir/scope.ts'),
    load<ParseModule>('fhir/search/parse.ts'),
    load<ExecuteModule>('fhir/search/execute-search.ts'),
    load<ProtectedModule>('fhir/protected-types.ts'),
  ]);
  const db = openPgDatabase(databaseUrl, 1);
  let recording: Statement[] | undefined;
  let inPage = false;
  const recorder: Database = {
    kind: db.kind,
    query: (sql: string, params?: readonly unknown[], options?: QueryOptions) => {
      recording?.push({ sql, params: [...(params ?? [])], ...(inPage ? { page: true } : {}) });
      return db.query(sql, params, options);
    },
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction(fn),
    close: () => db.close(),
  };
  const store = new ResourceStore(recorder);
  // Marks the statements of the page itself: the floor runs them as attempts, the others once.
  const searchPage = store.search.bind(store);
  store.search = async (...args) => {
    inPage = true;
    try {
      return await searchPage(...args);
    } finally {
      inPage = false;
    }
  };

  return {
    db,
    async record(projectId, query, searcher, access) {
      const [type = '', queryString = ''] = query.split('?', 2);
      const unreadable = unreadableTypes(searcher as RequestContext);
      const request = parseSearchRequest(type, [...new URLSearchParams(queryString)], false, unreadable);
      const statements: Statement[] = (recording = []);
      try {
        const result = await executeSearch(store, projectScope(projectId), request, { fhirBase, now: new Date(), ...(access ? { access } : {}) });
        const ref = (r: { resourceType: string; id?: string }): string => `${r.resourceType}/${r.id}`;
        return { statements, matches: result.resources.map(ref), included: result.included.map(ref) };
      } finally {
        recording = undefined;
      }
    },
    close: () => db.close(),
  };
}
