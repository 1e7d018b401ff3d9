/**
 * Field-level rules of a policy (AccessPolicy.resource.hiddenFields / readonlyFields):
 * - hidden fields are removed from every resource the member receives, and the narrative
 *   `text` with them (it may repeat what is hidden); a write keeps their stored value, since
 *   the member never saw it and cannot send it back;
 * - readonly fields keep their stored value on update and are removed on create;
 * - a search or sort on a parameter whose FHIRPath reads a hidden field is refused (403).
 *
 * Paths are dotted element names (`name.family`, `subject.display`), arrays crossed element by
 * element, and a choice element is named with `[x]` (`value[x]` is `valueQuantity`,
 * `valueString`, ...). For a type, the fields of every entry that speaks about it are used
 * together: stricter than Medplum, which takes the matching entry's (issue #3332), and never
 * shows a field that some entry hides.
 */
import { getSearchParameters } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { outcomeError } from '../outcomes.js';
import type { Criterion } from '../search/parse-chain.js';
import type { SearchRequest } from '../search/parse.js';
import { entriesOfType, type PolicyHolder } from './member-policy.js';

type Json = Record<string, unknown>;

export interface FieldRules {
  hidden: string[];
  readonly: string[];
}

export function fieldRules(holder: PolicyHolder, resourceType: string): FieldRules {
  const entries = entriesOfType(holder, resourceType);
  return {
    hidden: [...new Set(entries.flatMap((e) => e.hiddenFields))],
    readonly: [...new Set(entries.flatMap((e) => e.readonlyFields))],
  };
}

/** The keys of `obj` that element `name` (possibly `x[x]`) stands for, with their `_x` extension twins. */
function keysOf(obj: Json, name: string): string[] {
  if (name.endsWith('[x]')) {
    const head = name.slice(0, -3);
    return Object.keys(obj).filter((k) => {
      const base = k.startsWith('_') ? k.slice(1) : k;
      return base.startsWith(head) && base.length > head.length && /[A-Z]/.test(base[head.length] as string);
    });
  }
  return Object.keys(obj).filter((k) => k === name || k === `_${name}`);
}

function removePath(value: unknown, path: readonly string[]): void {
  if (Array.isArray(value)) {
    value.forEach((v) => removePath(v, path));
    return;
  }
  if (!value || typeof value !== 'object' || path.length === 0) return;
  const obj = value as Json;
  const [head, ...rest] = path as [string, ...string[]];
  for (const key of keysOf(obj, head)) {
    if (rest.length === 0) delete obj[key];
    else removePath(obj[key], rest);
  }
}

/** A copy of `resource` without the hidden fields (and without `text` when any is hidden). */
export function hideFields<T extends Resource>(resource: T, hidden: readonly string[]): T {
  if (hidden.length === 0) return resource;
  const copy = structuredClone(resource) as unknown as Json;
  for (const path of hidden) removePath(copy, path.split('.'));
  delete copy['text'];
  return copy as unknown as T;
}

/** Puts the stored value of each path back into `incoming` (on update); with no stored resource, removes it (on create). */
function keepPath(incoming: unknown, stored: unknown, path: readonly string[]): void {
  if (!incoming || typeof incoming !== 'object') return;
  if (Array.isArray(incoming)) {
    incoming.forEach((v, i) => keepPath(v, Array.isArray(stored) ? stored[i] : undefined, path));
    return;
  }
  const target = incoming as Json;
  const source = stored && typeof stored === 'object' && !Array.isArray(stored) ? (stored as Json) : undefined;
  const [head, ...rest] = path as [string, ...string[]];
  if (rest.length === 0) {
    for (const key of keysOf(target, head)) delete target[key];
    if (source) for (const key of keysOf(source, head)) target[key] = structuredClone(source[key]);
    return;
  }
  for (const key of keysOf(target, head)) keepPath(target[key], source?.[key], rest);
}

/** `incoming` with the readonly and hidden fields as stored (or absent, on create). */
export function keepProtectedFields<T extends Resource>(incoming: T, stored: Resource | undefined, rules: FieldRules): T {
  const paths = [...rules.readonly, ...rules.hidden];
  if (paths.length === 0) return incoming;
  const copy = structuredClone(incoming) as unknown as Json;
  for (const path of paths) keepPath(copy, stored, path.split('.'));
  return copy as unknown as T;
}

/** The element path a search parameter reads on `resourceType` (`name.family`, `value`), from its FHIRPath; undefined when it has none. */
function paramPaths(resourceType: string, code: string): string[] {
  const sp = getSearchParameters(resourceType)?.[code];
  if (!sp?.expression) return [];
  return sp.expression
    .split('|')
    .map((e) => e.trim().replace(/^\(/, '').replace(/\)$/, ''))
    .filter((e) => e.startsWith(`${resourceType}.`))
    .map((e) =>
      e
        .slice(resourceType.length + 1)
        .replace(/\s+as\s+\w+.*$/, '')
        .replace(/\.(where|ofType|resolve|exists|as)\(.*$/, '')
        .replace(/\)$/, ''),
    );
}

/** Whether a parameter path and a hidden path overlap: one is the other or lies inside it. */
function overlaps(paramPath: string, hidden: string): boolean {
  const norm = (p: string): string[] => p.split('.').map((s) => s.replace(/\[x\]$/, ''));
  const a = norm(paramPath);
  const b = norm(hidden);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    // `value` (choice) hides `valueQuantity`; a parameter on `valueQuantity` reads it.
    if (x !== y && !(hidden.split('.')[i]?.endsWith('[x]') && x.startsWith(y))) return false;
  }
  return true;
}

/** The hidden field a parameter of `resourceType` would reveal, if any. */
export function hiddenParamField(holder: PolicyHolder, resourceType: string, code: string): string | undefined {
  const { hidden } = fieldRules(holder, resourceType);
  if (hidden.length === 0) return undefined;
  for (const path of paramPaths(resourceType, code)) {
    const found = hidden.find((h) => overlaps(path, h));
    if (found) return found;
  }
  return undefined;
}

function checkCriterion(holder: PolicyHolder, resourceType: string, criterion: Criterion, name: string): void {
  if (!('kind' in criterion)) {
    assertNotHidden(holder, resourceType, criterion.param.code, name);
    return;
  }
  if (criterion.kind === 'has') {
    assertNotHidden(holder, criterion.sourceType, criterion.reference.code, name);
    checkCriterion(holder, criterion.sourceType, criterion.criterion, name);
    return;
  }
  assertNotHidden(holder, resourceType, criterion.reference.code, name);
  for (const t of criterion.targets) checkCriterion(holder, t.type, t.criterion, name);
}

function assertNotHidden(holder: PolicyHolder, resourceType: string, code: string, name: string): void {
  const field = hiddenParamField(holder, resourceType, code);
  if (field) {
    hiddenError(name, resourceType, field);
  }
}

function hiddenError(name: string, resourceType: string, field: string): never {
  throw outcomeError(403, 'forbidden', `${name}: searching or sorting on ${resourceType}.${field} is not allowed (the field is hidden from this member)`, name);
}

/** 403 when a filter, chain, `_has` or sort key of the request reads a field hidden from the member. */
export function assertSearchAvoidsHidden(holder: PolicyHolder, request: SearchRequest): void {
  if (!holder.policy) return;
  for (const f of request.filters) assertNotHidden(holder, request.resourceType, f.param.code, f.name);
  for (const l of request.linked) checkCriterion(holder, request.resourceType, l, l.name);
  for (const s of request.sort) assertNotHidden(holder, request.resourceType, s.param.code, '_sort');
}
