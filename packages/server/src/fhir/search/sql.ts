/**
 * The pieces compiled search SQL is built from. Values only ever enter as numbered parameters
 * (`$n`); the SQL text holds nothing but fixed table and column names. `$1` is always the
 * caller's project and `$2` the resource type: the store supplies both (from the Scope), so a
 * compiled search has no way to name another tenant.
 */

/** Numbered parameters after the store's two ($1 project, $2 resource type). */
export class SqlParams {
  readonly values: unknown[] = [];

  /** Adds a value and returns its placeholder, cast when PostgreSQL cannot infer the type. */
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    const placeholder = `$${this.values.length + 2}`;
    return cast ? `${placeholder}::${cast}` : placeholder;
  }

  /** A copy to add more values to (a page's cursor) without changing the original (the count's). */
  clone(): SqlParams {
    const copy = new SqlParams();
    copy.values.push(...this.values);
    return copy;
  }
}

/** Matches resources with at least one row of `table` for the parameter that satisfies `condition`. */
export function anyIndexRow(table: string, code: string, condition: string): string {
  return `r.id IN (SELECT s.resource_id FROM ${table} s WHERE s.project_id = $1 AND s.resource_type = $2 AND s.code = ${code} AND (${condition}))`;
}

/** Matches resources with no row of `table` for the parameter that satisfies `condition`. */
export function noIndexRow(table: string, code: string, condition: string): string {
  return `NOT EXISTS (SELECT 1 FROM ${table} s WHERE s.project_id = $1 AND s.resource_type = $2 AND s.code = ${code} AND s.resource_id = r.id AND (${condition}))`;
}

/** `:missing=true|false` (https://hl7.org/fhir/R4/search.html#modifiers): no value at all, or some value. */
export function missingCondition(table: string, code: string, missing: boolean): string {
  return missing ? noIndexRow(table, code, 'true') : anyIndexRow(table, code, 'true');
}

export function or(conditions: string[]): string {
  return conditions.length === 1 ? (conditions[0] as string) : `(${conditions.join(' OR ')})`;
}

export function and(conditions: string[]): string {
  return conditions.length === 1 ? (conditions[0] as string) : `(${conditions.join(' AND ')})`;
}

/** What compiling needs besides the request: our base URL (absolute references) and the time (`ap`). */
export interface CompileContext {
  /** `http://host/fhir/R4/`, with the trailing slash. */
  fhirBase: string;
  now: Date;
}
