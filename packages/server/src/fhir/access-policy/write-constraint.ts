/**
 * `AccessPolicy.resource[].writeConstraint[]` (Medplum PR #2720): FHIRPath expressions that
 * must be true of a write the entry allows. The written resource is the context, `%after` is
 * the same resource and `%before` the stored one (an empty collection on create), so
 * `%before.subject = %after.subject` forbids moving an Observation to another patient.
 *
 * An expression passes only when it evaluates to exactly one boolean `true`: `false`, an empty
 * result (a missing element), several values, an error (an unknown `%variable`) or a text that
 * does not parse all refuse the write (fail closed). Save-time validation refuses what does
 * not parse, so the last case only meets policies stored before it existed.
 *
 * Which entry's constraints apply, and when, is the PolicyGuard's decision (policy-guard.ts);
 * deletes are not evaluated (docs/SECURITY.md, "Access policies").
 */
import { evalFhirPathTyped, parseFhirPath, toTypedValue, type FhirPathAtom } from '@medplum/core';
import type { AccessPolicyResource, Resource } from '@medplum/fhirtypes';
import { badRequest } from '../outcomes.js';

const CACHE_LIMIT = 1000;
/** Parsed expressions by text; `null` for a text that does not parse. */
const parsedCache = new Map<string, FhirPathAtom | null>();

function parseCached(expression: string): FhirPathAtom | null {
  let parsed = parsedCache.get(expression);
  if (parsed === undefined) {
    try {
      parsed = parseFhirPath(expression);
    } catch {
      parsed = null;
    }
    if (parsedCache.size >= CACHE_LIMIT) parsedCache.clear();
    parsedCache.set(expression, parsed);
  }
  return parsed;
}

/** Whether every expression is exactly `true` of this write. */
export function writeConstraintsHold(expressions: readonly string[], before: Resource | undefined, after: Resource): boolean {
  if (expressions.length === 0) return true;
  const afterValue = toTypedValue(after);
  const variables = { '%before': before ? toTypedValue(before) : toTypedValue(undefined), '%after': afterValue };
  return expressions.every((expression) => {
    const atom = parseCached(expression);
    if (!atom) return false;
    try {
      const result = evalFhirPathTyped(atom, [afterValue], variables);
      return result.length === 1 && result[0]?.value === true;
    } catch {
      return false; // An unknown variable or function: the constraint is not met.
    }
  });
}

/**
 * Save-time check of one `resource[i]` entry's constraints: each is a FHIRPath Expression
 * (`language` text/fhirpath when given) with an `expression` that parses. `at` is `resource[i]`.
 */
export function assertValidWriteConstraints(entry: AccessPolicyResource, at: string): void {
  (entry.writeConstraint ?? []).forEach((constraint, j) => {
    const path = `${at}.writeConstraint[${j}]`;
    const language = (constraint as { language?: unknown }).language;
    if (language !== undefined && language !== 'text/fhirpath') {
      throw badRequest(`${path}.language: only text/fhirpath is supported, not "${String(language)}"`, `${path}.language`);
    }
    const expression = (constraint as { expression?: unknown }).expression;
    if (typeof expression !== 'string' || expression.trim() === '') {
      throw badRequest(`${path}.expression: a FHIRPath expression is required`, `${path}.expression`);
    }
    try {
      // A trial run on an empty resource of the entry's type also finds an unknown function or
      // `%variable`, which parse but would refuse every write (only in the branches it reaches).
      const sample = toTypedValue({ resourceType: entry.resourceType === '*' || !entry.resourceType ? 'Basic' : entry.resourceType });
      evalFhirPathTyped(parseFhirPath(expression), [sample], { '%before': toTypedValue(undefined), '%after': sample });
    } catch (err) {
      throw badRequest(`${path}.expression: "${expression.slice(0, 200)}" is not valid FHIRPath (${err instanceof Error ? err.message : String(err)})`, `${path}.expression`);
    }
  });
}
