/**
 * The pieces compiled search SQL is built from. Values only ever enter as numbered parameters
 * (`$n`); the SQL text holds nothing but fixed table and column names. `$1` is always the
 * caller's project and `$2` the resource type: the store supplies both (from the Scope), so a
 * compiled search has no way to name another tenant.
 */
import type { AccessCheck } from '../access-policy/policy-sql.js';

/**
 * Numbered parameters after the store's: by default after two ($1 project, $2 resource type);
 * queries over several types (includes, $everything) have only the project, and start at $2.
 */
export class SqlParams {
  readonly values: unknown[] = [];

  constructor(private readonly reserved: 1 | 2 = 2) {}

  /** Adds a value and returns its placeholder, cast when PostgreSQL cannot infer the type. */
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    const placeholder = `$${this.values.length + this.reserved}`;
    return cast ? `${placeholder}::${cast}` : placeholder;
  }

  /** A copy to add more values to (a page's cursor) without changing the original (the count's). */
  clone(): SqlParams {
    const copy = new SqlParams(this.reserved);
    copy.values.push(...this.values);
    return copy;
  }
}

/**
 * The resource row a condition is about: the searched resource (`r`, its type `$2`), or, inside
 * a chain or `_has`, a referenced or referring resource (its own alias, its type a parameter).
 */
export interface RowRef {
  alias: string;
  /** The placeholder (or literal placeholder expression) of the row's resource type. */
  type: string;
}

export const ROOT_ROW: RowRef = { alias: 'r', type: '$2' };

/** Matches resources with at least one row of `table` for the parameter that satisfies `condition`. */
export function anyIndexRow(table: string, code: string, condition: string, row: RowRef): string {
  return `${row.alias}.id IN (SELECT s.resource_id FROM ${table} s WHERE s.project_id = $1 AND s.resource_type = ${row.type} AND s.code = ${code} AND (${condition}))`;
}

/** Matches resources with no row of `table` for the parameter that satisfies `condition`. */
export function noIndexRow(table: string, code: string, condition: string, row: RowRef): string {
  return `NOT EXISTS (SELECT 1 FROM ${table} s WHERE s.project_id = $1 AND s.resource_type = ${row.type} AND s.code = ${code} AND s.resource_id = ${row.alias}.id AND (${condition}))`;
}

/** `:missing=true|false` (https://hl7.org/fhir/R4/search.html#modifiers): no value at all, or some value. */
export function missingCondition(table: string, code: string, missing: boolean, row: RowRef): string {
  return missing ? noIndexRow(table, code, 'true', row) : anyIndexRow(table, code, 'true', row);
}

export function or(conditions: string[]): string {
  return conditions.length === 1 ? (conditions[0] as string) : `(${conditions.join(' OR ')})`;
}

export function and(conditions: string[]): string {
  return conditions.length === 1 ? (conditions[0] as string) : `(${conditions.join(' AND ')})`;
}

/**
 * What compiling needs besides the request: our base URL (absolute references), the time
 * (`ap`), and the caller's access policy (src/fhir/access-policy/policy-sql.ts), which every
 * row a search reaches must satisfy: the searched one, each chain and `_has` level, includes.
 */
export interface CompileContext {
  /** `http://host/fhir/R4/`, with the trailing slash. */
  fhirBase: string;
  now: Date;
  /** Absent: no policy narrows the caller (admins, members without a policy, the server). */
  access?: AccessCheck;
}
