/**
 * Turns what the server answered into words beside the form's fields: an OperationOutcome's
 * issues carry `expression` naming the field (`email`, `membership.accessPolicy`), so each
 * message goes to the field it names, and what names no field of the form goes on top.
 */
import { OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';

export interface FormErrors {
  /** Message per form field name. */
  fields: Record<string, string>;
  /** Messages that belong to no field of this form. */
  general: string[];
}

export const NO_ERRORS: FormErrors = { fields: {}, general: [] };

function outcomeOf(error: unknown): OperationOutcome | undefined {
  if (error instanceof OperationOutcomeError) return error.outcome;
  if (typeof error === 'object' && error !== null && (error as { resourceType?: unknown }).resourceType === 'OperationOutcome') {
    return error as OperationOutcome;
  }
  return undefined;
}

/** A sentence a project admin understands, for errors that are not an OperationOutcome. */
function describe(error: unknown): string {
  if (error instanceof TypeError) return 'The server could not be reached. Check your connection and try again.';
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong. Please try again.';
}

/**
 * Which form field an expression names: the field itself, or the field it starts with
 * (`membership.accessPolicy[0]` → `accessPolicy` when the form maps `membership.accessPolicy`).
 */
function fieldFor(expression: string, aliases: Record<string, string>): string | undefined {
  const clean = expression.replace(/\[\d+\]/g, '');
  for (const [path, field] of Object.entries(aliases)) {
    if (clean === path || clean.startsWith(`${path}.`)) return field;
  }
  return undefined;
}

/**
 * `aliases` maps the server's field paths to this form's field names; a form whose inputs
 * are named as the server's fields lists them as `{ email: 'email', ... }`.
 */
export function readFormErrors(error: unknown, aliases: Record<string, string>): FormErrors {
  const outcome = outcomeOf(error);
  if (!outcome) return { fields: {}, general: [describe(error)] };
  const result: FormErrors = { fields: {}, general: [] };
  for (const issue of outcome.issue ?? []) {
    const text = issue.details?.text ?? issue.diagnostics ?? 'This value is not accepted.';
    const field = (issue.expression ?? []).map((e) => fieldFor(e, aliases)).find((f) => f !== undefined);
    if (field && !result.fields[field]) {
      result.fields[field] = text;
    } else if (!field) {
      result.general.push(text);
    }
  }
  if (result.general.length === 0 && Object.keys(result.fields).length === 0) result.general.push('The server refused this request.');
  return result;
}

/** One sentence for an error shown outside a form (a table that did not load). */
export function errorText(error: unknown): string {
  return readFormErrors(error, {}).general.join(' ');
}
