/**
 * The SQL Tessera runs for a search by a member under an access policy, recorded as
 * search-statements.ts records the admin's (statement-recorder.ts): the server's own code
 * (loaded from the server package under test) builds the member's policy from the stored ProjectMembership and
 * AccessPolicy (`buildMemberPolicy`, as authentication does), compiles it into the search
 * (`accessCheck`, as the Repository's PolicyGuard does) and runs it on a Database that records
 * each statement. The caller checks that what it finds equals what Tessera answered over HTTP,
 * so a drift between this and the server's request path shows as an error, not as a wrong plan.
 * Not reconstructed: SMART `patient/` scope narrowing (the bench's tokens carry none).
 */
import type { AccessPolicy, ProjectMembership } from '@medplum/fhirtypes';
import { loadServerModule, openStatementRecorder, PROJECT_ADMIN, type RecordedSearch, type Searcher } from './statement-recorder.js';

type LoadPolicyModule = typeof import('../packages/server/src/fhir/access-policy/load-policy.js');
type PolicySqlModule = typeof import('../packages/server/src/fhir/access-policy/policy-sql.js');

export interface MemberSearch {
  /** Runs `query` (`Type?a=b&...`) in `projectId` as the member `membershipId` would (undefined: the project's admin). */
  record(projectId: string, query: string, membershipId?: string): Promise<RecordedSearch>;
  close(): Promise<void>;
}

export async function openMemberSearch(serverDir: string, databaseUrl: string, fhirBase: string): Promise<MemberSearch> {
  const [recorder, { buildMemberPolicy, policyIdsOf }, { accessCheck }] = await Promise.all([
    openStatementRecorder(serverDir, databaseUrl, fhirBase),
    loadServerModule<LoadPolicyModule>(serverDir, 'fhir/access-policy/load-policy.ts'),
    loadServerModule<PolicySqlModule>(serverDir, 'fhir/access-policy/policy-sql.ts'),
  ]);

  /** The stored membership and its policies, read directly (not recorded: the server caches them per token). */
  async function holderOf(projectId: string, membershipId: string): Promise<Searcher & { policy?: ReturnType<typeof buildMemberPolicy> }> {
    const read = async <T>(type: string, ids: string[]): Promise<T[]> =>
      (await recorder.db.query<{ content: T }>(`SELECT content FROM resource WHERE project_id = $1 AND resource_type = $2 AND id = ANY($3) AND NOT deleted`, [projectId, type, ids])).rows.map((r) => r.content);
    const [membership] = await read<ProjectMembership>('ProjectMembership', [membershipId]);
    if (!membership) throw new Error(`ProjectMembership/${membershipId} is not in project ${projectId}`);
    const policies = await read<AccessPolicy & { id: string }>('AccessPolicy', policyIdsOf(membership));
    return { admin: membership.admin === true, superAdmin: false, policy: buildMemberPolicy(projectId, membership, policies) };
  }

  return {
    async record(projectId, query, membershipId) {
      const holder = membershipId ? await holderOf(projectId, membershipId) : PROJECT_ADMIN;
      return recorder.record(projectId, query, holder, accessCheck(holder, 'search'));
    },
    close: () => recorder.close(),
  };
}
