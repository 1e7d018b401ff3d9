/**
 * The SQL Tessera runs for a search by the project's admin, the bench's caller in
 * `bench:search`: recorded from the server's own search code (statement-recorder.ts).
 *
 * Not reconstructed: access policies (the bench's admin has none), see policy-statements.ts.
 */
import { openStatementRecorder, PROJECT_ADMIN, type RecordedSearch } from './statement-recorder.js';

export interface ServerSearch {
  /** Runs `query` (`Type?a=b&...`) as the server would, in `projectId`, recording its statements. */
  record(projectId: string, query: string): Promise<RecordedSearch>;
  close(): Promise<void>;
}

export async function openServerSearch(serverDir: string, databaseUrl: string, fhirBase: string): Promise<ServerSearch> {
  const recorder = await openStatementRecorder(serverDir, databaseUrl, fhirBase);
  return {
    // A project admin may not read only the server-only types, and no policy narrows it.
    record: (projectId, query) => recorder.record(projectId, query, PROJECT_ADMIN),
    close: () => recorder.close(),
  };
}
