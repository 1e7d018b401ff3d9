/**
 * Failures of one Bundle entry. Each issue's `expression` is made to name the entry
 * (`Bundle.entry[3].resource.birthDate`, `Bundle.entry[3].request.url`), so a client, or the
 * import summary, can tell which entry and which field failed; the text says which entry too.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { OutcomeError, outcome } from '../outcomes.js';

/** An OutcomeError that knows the entry it is about. */
export class EntryError extends OutcomeError {
  constructor(
    readonly entryIndex: number,
    status: number,
    body: OperationOutcome,
  ) {
    super(status, body);
    this.name = 'EntryError';
  }
}

/** `Bundle.entry[i]`: the prefix of every expression about an entry. */
export function entryPath(index: number): string {
  return `Bundle.entry[${index}]`;
}

/**
 * The error of entry `index` as an EntryError. Expressions already naming the Bundle stay;
 * those about the resource (`Patient.birthDate`, `id`) are put under `Bundle.entry[i].resource`.
 * Errors that are not OutcomeErrors (a database failure) are returned unchanged: the caller
 * decides whether they fail everything (a transaction) or the entry alone (a batch).
 */
export function atEntry(index: number, err: unknown): unknown {
  if (err instanceof EntryError || !(err instanceof OutcomeError)) {
    return err;
  }
  const prefix = entryPath(index);
  const issue = (err.outcome.issue ?? []).map((i): OperationOutcomeIssue => {
    const expression = i.expression?.length ? i.expression.map((e) => resourcePath(prefix, e)) : [prefix];
    const text = i.details?.text;
    return { ...i, expression, ...(text === undefined ? {} : { details: { ...i.details, text: `${prefix}: ${text}` } }) };
  });
  return new EntryError(index, err.status, { ...err.outcome, issue });
}

function resourcePath(prefix: string, expression: string): string {
  if (expression.startsWith('Bundle.')) {
    return expression;
  }
  // The validator's paths start with the type (`Patient.birthDate`); the repository's do not (`id`).
  return `${prefix}.resource.${expression.replace(/^[A-Z][A-Za-z]*\./, '')}`;
}

/** A failure that is not the client's: no details leave the server. */
export function internalErrorOutcome(index: number): OperationOutcome {
  return outcome('exception', `${entryPath(index)}: internal server error`, entryPath(index));
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

/** `Bundle.entry.response.status`: the code and its reason phrase, as HTTP writes them. */
export function statusText(status: number): string {
  const reason = REASONS[status];
  return reason ? `${status} ${reason}` : String(status);
}
