/**
 * Assertions shared by the security suites (bad input, tenancy, authentication): what a
 * failure looks like on the wire, and proof that a refused request wrote nothing.
 */
import assert from 'node:assert/strict';
import type { Patient } from '@medplum/fhirtypes';
import { countRows, createMember, fhirClient, type FhirClient, type Response, type TestMember } from './factories.js';
import type { TestServer } from './harness.js';

interface Issue {
  code?: string;
  expression?: string[];
  details?: { text?: string };
}

/**
 * A failure as FHIR says: the status, an OperationOutcome in application/fhir+json, and, when
 * given, an issue whose `expression` names the field. Returns the first issue's code.
 */
export function expectOutcome(res: Response, status: number, expression?: string): string | undefined {
  const body = res.body as { resourceType?: string; issue?: Issue[] } | undefined;
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${JSON.stringify(body)?.slice(0, 500)}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json/, `content-type of a ${res.status}`);
  assert.equal(body?.resourceType, 'OperationOutcome', JSON.stringify(body)?.slice(0, 500));
  assert.ok(body.issue && body.issue.length > 0, 'an OperationOutcome with no issue');
  if (expression !== undefined) {
    assert.ok(
      body.issue.some((i) => i.expression?.includes(expression)),
      `no issue with expression "${expression}": ${JSON.stringify(body.issue).slice(0, 500)}`,
    );
  }
  return body.issue[0]?.code;
}

export interface WatchedProject {
  member: TestMember;
  fhir: FhirClient;
  /** A Patient the bad requests aim at. */
  patient: Patient & { id: string };
  /** Fails when the project has gained or lost a row, or the Patient reads differently. */
  assertUnchanged(): Promise<void>;
}

/** A new project (its admin, a client, one Patient) and a snapshot to compare against later. */
export async function watchProject(server: TestServer): Promise<WatchedProject> {
  const member = await createMember(server);
  const fhir = fhirClient(server, member.token);
  const created = await fhir.post<Patient & { id: string }>('Patient', { resourceType: 'Patient', name: [{ family: 'Unchanged' }], active: false });
  assert.equal(created.status, 201);
  const patient = created.body;
  const rows = await countRows(server, member.projectId);
  return {
    member,
    fhir,
    patient,
    async assertUnchanged() {
      assert.deepEqual(await countRows(server, member.projectId), rows, 'rows of the project');
      const read = await fhir.get(`Patient/${patient.id}`);
      assert.equal(read.status, 200);
      assert.deepEqual(read.body, patient);
    },
  };
}
