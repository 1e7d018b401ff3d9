/**
 * Request bodies of JSON endpoints (`/auth`, `/admin`) checked against a zod schema at the
 * edge: every problem becomes an OperationOutcome issue whose `expression` is the field
 * path, so a form can show each error beside its field. Nothing runs on a bad body.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { z } from 'zod';
import { OutcomeError } from '../fhir/outcomes.js';

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body ?? {});
  if (result.success) {
    return result.data;
  }
  const issue: OperationOutcomeIssue[] = result.error.issues.map((i) => {
    const path = i.path.map(String).join('.');
    return {
      severity: 'error',
      code: 'invalid',
      details: { text: path ? `${path}: ${i.message}` : i.message },
      ...(path ? { expression: [path] } : {}),
    };
  });
  throw new OutcomeError(400, { resourceType: 'OperationOutcome', issue });
}
