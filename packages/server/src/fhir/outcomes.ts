/**
 * Failures as FHIR OperationOutcomes (https://hl7.org/fhir/R4/operationoutcome.html).
 * Handlers throw `OutcomeError`; the HTTP layer turns it into the status and body. Each issue
 * names the field it is about in `expression`, so a form can show the error beside it.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export type IssueCode = OperationOutcomeIssue['code'];

export class OutcomeError extends Error {
  constructor(
    readonly status: number,
    readonly outcome: OperationOutcome,
  ) {
    super(outcome.issue?.map((i) => i.details?.text ?? i.diagnostics ?? i.code).join('; ') ?? 'error');
    this.name = 'OutcomeError';
  }
}

export function outcome(code: IssueCode, text: string, expression?: string | string[], severity: OperationOutcomeIssue['severity'] = 'error'): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity, code, details: { text } };
  if (expression !== undefined) {
    issue.expression = Array.isArray(expression) ? expression : [expression];
  }
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

export function outcomeError(status: number, code: IssueCode, text: string, expression?: string | string[]): OutcomeError {
  return new OutcomeError(status, outcome(code, text, expression));
}

export const badRequest = (text: string, expression?: string | string[]): OutcomeError => outcomeError(400, 'invalid', text, expression);
export const unauthorized = (text = 'Unauthorized'): OutcomeError => outcomeError(401, 'login', text);
export const forbidden = (text = 'Forbidden'): OutcomeError => outcomeError(403, 'forbidden', text);
export const notFound = (text = 'Not found'): OutcomeError => outcomeError(404, 'not-found', text);
export const gone = (text = 'Deleted'): OutcomeError => outcomeError(410, 'deleted', text);
export const preconditionFailed = (text: string): OutcomeError => outcomeError(412, 'conflict', text);

export function allOk(text = 'All OK'): OperationOutcome {
  return outcome('informational', text, undefined, 'information');
}
