/**
 * The SearchParameters the server indexes and accepts, per resource type: R4's and Medplum's
 * own (ProjectMembership `user`, `profile`, ...), as `loadDefinitions()` put them into
 * `@medplum/core`'s registry. Parsed FHIRPath is kept per type, so writes do not re-parse it.
 *
 * Not here: composite and special parameters (not indexed, and a search on one is refused as
 * unsupported), and `_id` / `_lastUpdated`, which are columns of the resource table itself.
 */
import { getSearchParameterDetails, getSearchParameters, SearchParameterType, type FhirPathAtom } from '@medplum/core';
import type { SearchParameter } from '@medplum/fhirtypes';
import { loadDefinitions } from '../definitions.js';

export type IndexedType = 'token' | 'string' | 'reference' | 'date' | 'number' | 'quantity' | 'uri';

const INDEXED_TYPES: ReadonlySet<string> = new Set<IndexedType>(['token', 'string', 'reference', 'date', 'number', 'quantity', 'uri']);

/** Parameters answered from the resource table's own columns, not from an index table. */
export const COLUMN_PARAMS: Readonly<Record<string, { type: IndexedType; column: 'id' | 'last_updated' }>> = {
  _id: { type: 'token', column: 'id' },
  _lastUpdated: { type: 'date', column: 'last_updated' },
};

export interface SearchParam {
  code: string;
  type: IndexedType;
  /** The expression restricted to this resource type, parsed once; undefined for column parameters. */
  expression?: FhirPathAtom;
  /** The SearchParameter's canonical URL, for the CapabilityStatement. */
  url?: string;
  /** For reference parameters: the types a reference may point to. */
  targets: readonly string[];
  /** A token parameter over a boolean element: values must be true or false. */
  boolean: boolean;
  /** Set for `_id` and `_lastUpdated`. */
  column?: 'id' | 'last_updated';
}

export interface ParamLookup {
  /** The parameter, when it is one this server searches on. */
  param?: SearchParam;
  /** Set when the type defines the code but the server cannot search on it (composite, special). */
  unsupportedType?: string;
}

const cache = new Map<string, Map<string, SearchParam | string>>();

function buildParams(resourceType: string): Map<string, SearchParam | string> {
  loadDefinitions();
  const result = new Map<string, SearchParam | string>();
  for (const [code, sp] of Object.entries(getSearchParameters(resourceType) ?? {})) {
    result.set(code, toSearchParam(resourceType, code, sp) ?? sp.type ?? 'unknown');
  }
  return result;
}

function toSearchParam(resourceType: string, code: string, sp: SearchParameter): SearchParam | undefined {
  const column = COLUMN_PARAMS[code];
  if (column) {
    return { code, type: column.type, url: sp.url, targets: [], boolean: false, column: column.column };
  }
  if (!sp.type || !INDEXED_TYPES.has(sp.type) || !sp.expression) {
    return undefined;
  }
  const details = getSearchParameterDetails(resourceType, sp);
  return {
    code,
    type: sp.type as IndexedType,
    expression: details.parsedExpression,
    url: sp.url,
    targets: sp.target ?? [],
    boolean: details.type === SearchParameterType.BOOLEAN,
  };
}

function paramsOf(resourceType: string): Map<string, SearchParam | string> {
  let params = cache.get(resourceType);
  if (!params) {
    params = buildParams(resourceType);
    cache.set(resourceType, params);
  }
  return params;
}

export function lookupParam(resourceType: string, code: string): ParamLookup {
  const found = paramsOf(resourceType).get(code);
  if (found === undefined) {
    return {};
  }
  return typeof found === 'string' ? { unsupportedType: found } : { param: found };
}

/** The parameters whose values are extracted into index tables on write (columns excluded). */
export function indexedParams(resourceType: string): SearchParam[] {
  return [...paramsOf(resourceType).values()].filter((p): p is SearchParam => typeof p !== 'string' && !p.column);
}

/** Every parameter a search on this type accepts, for the CapabilityStatement. */
export function searchableParams(resourceType: string): SearchParam[] {
  return [...paramsOf(resourceType).values()].filter((p): p is SearchParam => typeof p !== 'string');
}
