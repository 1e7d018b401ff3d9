/**
 * Extraction: a resource's SearchParameter values, turned into index rows on write. Each
 * parameter's FHIRPath expression is evaluated with `@medplum/core`; each resulting value is
 * mapped by its FHIR type to the rows of the parameter's table, following the type-to-parameter
 * table of https://hl7.org/fhir/R4/search.html#table. Values of a type a parameter cannot
 * search on (a string under a date parameter, say) are skipped, as the spec allows.
 */
import { evalFhirPathTyped, toTypedValue, type TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { emptyIndexRows, type IndexRows } from './index-rows.js';
import { extractDates, extractNumbers, extractQuantities } from './extract-ranges.js';
import { extractReferences, extractStrings, extractTokens, extractUris } from './extract-text.js';
import { indexedParams, type IndexedType } from './search-params.js';

type Extractor = (code: string, values: TypedValue[], rows: IndexRows) => void;

const EXTRACTORS: Record<IndexedType, Extractor> = {
  token: extractTokens,
  string: extractStrings,
  reference: extractReferences,
  date: extractDates,
  number: extractNumbers,
  quantity: extractQuantities,
  uri: extractUris,
};

/** Every index row of a resource, across all its type's parameters, duplicates removed. */
export function extractIndexRows(resource: Resource): IndexRows {
  const rows = emptyIndexRows();
  const input = [toTypedValue(resource)];
  for (const param of indexedParams(resource.resourceType)) {
    if (!param.expression) {
      continue;
    }
    let values: TypedValue[];
    try {
      values = evalFhirPathTyped(param.expression, input);
    } catch {
      // An expression that cannot evaluate on this content must not block the write; the
      // resource is then simply not findable by that one parameter.
      continue;
    }
    if (values.length > 0) {
      EXTRACTORS[param.type](param.code, values, rows);
    }
  }
  return dedupe(rows);
}

function dedupe(rows: IndexRows): IndexRows {
  const out = emptyIndexRows();
  for (const key of Object.keys(rows) as Array<keyof IndexRows>) {
    const seen = new Set<string>();
    const list = rows[key] as unknown[];
    (out[key] as unknown[]) = list.filter((row) => {
      const k = JSON.stringify(row);
      return seen.has(k) ? false : (seen.add(k), true);
    });
  }
  return out;
}
