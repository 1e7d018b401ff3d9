/**
 * The rows a resource contributes to the search index tables (migrations/0002_search.sql),
 * one shape per table. `code` is the SearchParameter's code.
 */

export interface TokenRow {
  code: string;
  system: string | null;
  value: string | null;
  text: string | null;
  typeSystem: string | null;
  typeCode: string | null;
}

export interface StringRow {
  code: string;
  value: string;
  exact: string;
}

export interface ReferenceRow {
  code: string;
  targetType: string | null;
  targetId: string;
  reference: string;
}

export interface DateRow {
  code: string;
  low: string;
  high: string;
}

export interface NumberRow {
  code: string;
  low: string;
  high: string;
}

export interface QuantityRow {
  code: string;
  value: string;
  system: string | null;
  unitCode: string | null;
  unit: string | null;
}

export interface UriRow {
  code: string;
  value: string;
}

export interface IndexRows {
  token: TokenRow[];
  string: StringRow[];
  reference: ReferenceRow[];
  date: DateRow[];
  number: NumberRow[];
  quantity: QuantityRow[];
  uri: UriRow[];
}

export function emptyIndexRows(): IndexRows {
  return { token: [], string: [], reference: [], date: [], number: [], quantity: [], uri: [] };
}
