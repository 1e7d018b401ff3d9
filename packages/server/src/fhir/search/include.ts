/**
 * `_include` and `_revinclude` (https://hl7.org/fhir/R4/search.html#include) for one page of
 * matches: round 0 applies every include parameter to the matches; each later round applies
 * the `:iterate` ones to what the previous round added, at most MAX_ITERATE_ROUNDS rounds and
 * MAX_INCLUDED resources in all (beyond that the Bundle says it was cut short). A resource
 * already in the Bundle, as a match or as an include, is never added twice.
 *
 * Tenancy and type rules are in the statements (include-sql.ts), run by ResourceStore in the
 * caller's Scope: a reference to an id that exists in another project includes nothing, and a
 * type the caller may not read is never selected.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { ResourceStore } from '../resource-store.js';
import type { Scope } from '../scope.js';
import { buildIncludeQuery, buildRevincludeQuery, type FollowedParam, type RowRestriction } from './include-sql.js';
import type { IncludeSpec } from './parse-include.js';
import { referenceParamsOf, referencesTo } from './reference-params.js';

export const MAX_ITERATE_ROUNDS = 4;
export const MAX_INCLUDED = 1000;

export interface IncludeResult {
  resources: Resource[];
  /** True when MAX_INCLUDED stopped the includes early. */
  truncated: boolean;
}

export async function fetchIncludes(
  store: ResourceStore,
  scope: Scope,
  specs: IncludeSpec[],
  matches: Resource[],
  unreadable: readonly string[],
  restrict?: RowRestriction,
): Promise<IncludeResult> {
  const seen = new Set(matches.map(referenceOf));
  const included: Resource[] = [];
  let current = matches;
  for (let round = 0; round <= MAX_ITERATE_ROUNDS && current.length > 0; round++) {
    const applied = round === 0 ? specs : specs.filter((s) => s.iterate);
    const found: Resource[] = [];
    for (const reverse of [false, true]) {
      const follow = followedParams(applied.filter((s) => s.reverse === reverse), new Set(current.map((r) => r.resourceType)), reverse, unreadable);
      if (follow.length === 0) {
        continue;
      }
      const room = MAX_INCLUDED - included.length - found.length;
      const build = reverse ? buildRevincludeQuery : buildIncludeQuery;
      const rows = await store.searchRelated(scope, build({ follow, from: current.map(referenceOf), unreadable, exclude: [...seen], limit: room + 1, restrict }));
      for (const row of rows.slice(0, room)) {
        const resource = row.resource as Resource;
        seen.add(referenceOf(resource));
        found.push(resource);
      }
      if (rows.length > room) {
        return { resources: [...included, ...found], truncated: true };
      }
    }
    included.push(...found);
    current = found;
  }
  return { resources: included, truncated: false };
}

/** The reference parameters the specs follow from (or, reversed, towards) resources of `types`, without repeats. */
function followedParams(specs: IncludeSpec[], types: ReadonlySet<string>, reverse: boolean, unreadable: readonly string[]): FollowedParam[] {
  const follow = new Map<string, FollowedParam>();
  for (const spec of specs) {
    for (const f of reverse ? referencesToSet(spec, types) : referencesFromSet(spec, types)) {
      // Reversed, the source is what gets included, so an unreadable one is left out; forward,
      // the source is already in the Bundle and the statement filters the targets.
      if (!reverse || !unreadable.includes(f.sourceType)) {
        follow.set(`${f.sourceType}:${f.code}:${f.targetType ?? ''}`, f);
      }
    }
  }
  return [...follow.values()];
}

/** `_include`: `*` is every reference parameter of the set's types; `Type:*` every one of Type's. */
function referencesFromSet(spec: IncludeSpec, types: ReadonlySet<string>): FollowedParam[] {
  const sourceTypes = spec.sourceType === undefined ? [...types] : types.has(spec.sourceType) ? [spec.sourceType] : [];
  return sourceTypes.flatMap((sourceType) =>
    spec.code === undefined
      ? referenceParamsOf(sourceType).map((p) => ({ sourceType, code: p.code, targetType: null }))
      : [{ sourceType, code: spec.code, targetType: spec.targetType ?? null }],
  );
}

/** `_revinclude`: `*` is every parameter of any type that may point at the set's types; `Type:*` every such one of Type's. */
function referencesToSet(spec: IncludeSpec, types: ReadonlySet<string>): FollowedParam[] {
  if (spec.sourceType === undefined) {
    return [...types].flatMap((type) => referencesTo(type).map(({ sourceType, param }) => ({ sourceType, code: param.code, targetType: null })));
  }
  const sourceType = spec.sourceType;
  if (spec.code !== undefined) {
    return [{ sourceType, code: spec.code, targetType: spec.targetType ?? null }];
  }
  return referenceParamsOf(sourceType)
    .filter((p) => p.targets.length === 0 || p.targets.some((t) => types.has(t)))
    .map((p) => ({ sourceType, code: p.code, targetType: null }));
}

function referenceOf(resource: Resource): string {
  return `${resource.resourceType}/${resource.id}`;
}
