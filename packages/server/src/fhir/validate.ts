/**
 * Structural validation of a resource before it is written: cardinality, types, required
 * elements, unknown properties, primitive formats, against the R4 StructureDefinitions and
 * Medplum's own. Uses `@medplum/core`'s validator rather than writing our own.
 * It does not check terminology bindings or references' targets.
 */
import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from './definitions.js';
import { OutcomeError, badRequest } from './outcomes.js';

/** Throws a 400 OutcomeError listing every problem, each with its `expression` path. */
export function assertValidResource(resource: Resource): void {
  loadDefinitions();
  let issues: OperationOutcomeIssue[];
  try {
    issues = validateResource(resource);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      throw new OutcomeError(400, { resourceType: 'OperationOutcome', issue: err.outcome.issue?.map(withDefaults) ?? [] });
    }
    throw badRequest(`Invalid resource: ${err instanceof Error ? err.message : String(err)}`);
  }
  const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  if (errors.length > 0) {
    throw new OutcomeError(400, { resourceType: 'OperationOutcome', issue: errors.map(withDefaults) });
  }
}

function withDefaults(issue: OperationOutcomeIssue): OperationOutcomeIssue {
  return { ...issue, severity: issue.severity ?? 'error', code: issue.code ?? 'invalid' };
}
