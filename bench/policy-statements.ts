/**
 * The SQL Tessera runs for a search by a member under an access policy, recorded as
 * search-statements.ts records the admin's: the server's own code (loaded from the server
 * package under test) builds the member's policy from the stored ProjectMembership and
 * AccessPolicy (`buildMemberPolicy`, as authentication does), compiles it into the search
 * (`accessCheck`, as the Repository's PolicyGuard does) and runs it on a Database that records
 * each statement. The caller checks that what it finds equals what Tessera answered over HTTP,
 * so a drift between this and the server's request path shows as an error, not as a wrong plan.
 * Not reconstructed: SMART `patient/` scope narrowing (the bench's tokens carry none).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AccessPolicy, ProjectMembership } from '@medplum/fhirtypes';
import type { Database, QueryOptions } from '../packages/server/src/db/database.js';
import type { RecordedSearch, Statement } from './search-statements.js';

type PgDatabaseModule = typeof import('../packages/server/src/db/pg-database.js');
type StoreModule = typeof import('../packages/server/src/fhir/resource-store.js');
type ScopeModule = typeof import('../packages/server/src/fhir/scope.js');
type ParseModule = typeof import('../packages/server/src/fhir/search/parse.js');
type ExecuteModule = typeof import('../packages/server/src/fhir/search/execute-search.js');
type ProtectedModule = typeof import('../packages/server/src/fhir/protected-types.js');
type LoadPolicyModule = typeof import('../packages/server/src/fhir/access-policy/load-policy.js');
type PolicySqlModule = typeof import('../packages/server/src/fhir/access-policy/policy-sql.js');
type RequestContext = import('../packages/server/src/auth/request-context.js').RequestContext;

export interface MemberSearch {
  /** Runs `query` (`Type?a=b&...`) in `projectId` as the member `membershipId` would (undefined: the project's admin). */
  record(projectId: string, query: string, membershipId?: string): Promise<RecordedSearch>;
  close(): Promise<void>;
}

export async function openMemberSearch(serverDir: string, databaseUrl: string, fhirBase: string): Promise<MemberSearch> {
  const load = <T>(path: string): Promise<T> => import(pathToFileURL(join(serverDir, 'src', path)).href) as Promise<T>;
  const [{ openPgDatabase }, { ResourceStore }, { projectScope }, { parseSearchRequest }, { executeSearch }, { unreadableTypes }, { buildMemberPolicy, policyIdsOf }, { accessCheck }] =
    await Promise.all([
      load<PgDatabaseModule>('db/pg-database.ts'),
      load<StoreModule>('fhir/resource-store.ts'),
      load<ScopeModule>('fhir/scope.ts'),
      load<ParseModule>('fhir/search/parse.ts'),
      load<ExecuteModule>('fhir/search/execute-search.ts'),
      load<ProtectedModule>('fhir/protected-types.ts'),
      load<LoadPolicyModule>('fhir/access-policy/load-policy.ts'),
      load<PolicySqlModule>('fhir/access-policy/policy-sql.ts'),
    ]);
  const db = openPgDatabase(databaseUrl, 1);
  let recording: Statement[] | undefined;
  const recorder: Database = {
    kind: db.kind,
    query: (sql: string, params?: readonly unknown[], options?: QueryOptions) => {
      recording?.push({ sql, params: [...(params ?? [])] });
      return db.query(sql, params, options);
    },
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction(fn),
    close: () => db.close(),
  };
  const store = new ResourceStore(recorder);

  /** The stored membership and its policies, read directly (not recorded: the server caches them per token). */
  async function holderOf(projectId: string, membershipId: string): Promise<{ admin: boolean; superAdmin: boolean; policy?: ReturnType<typeof buildMemberPolicy> }> {
    const read = async <T>(type: string, ids: string[]): Promise<T[]> =>
      (await db.query<{ content: T }>(`SELECT content FROM resource WHERE project_id = $1 AND resource_type = $2 AND id = ANY($3) AND NOT deleted`, [projectId, type, ids])).rows.map((r) => r.content);
    const [membership] = await read<ProjectMembership>('ProjectMembership', [membershipId]);
    if (!membership) throw new Error(`ProjectMembership/${membershipId} is not in project ${projectId}`);
    const policies = await read<AccessPolicy & { id: string }>('AccessPolicy', policyIdsOf(membership));
    return { admin: membership.admin === true, superAdmin: false, policy: buildMemberPolicy(projectId, membership, policies) };
  }

  return {
    async record(projectId, query, membershipId) {
      const holder = membershipId ? await holderOf(projectId, membershipId) : { admin: true, superAdmin: false };
      const access = accessCheck(holder, 'search');
      const [type = '', queryString = ''] = query.split('?', 2);
      const unreadable = unreadableTypes(holder as RequestContext);
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
