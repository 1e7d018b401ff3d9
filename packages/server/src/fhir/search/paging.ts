/**
 * Keyset paging (https://hl7.org/fhir/R4/http.html#paging leaves the links' form to the
 * server). A page link carries a cursor: the sort values and id of the row the page starts
 * after (`next`) or ends before (`previous`). The next page is "rows ordered after the
 * cursor", not "skip N rows", so resources created or deleted while a client pages do not
 * shift the pages it has not read: it sees no row twice and misses none that existed
 * throughout. Every order ends with the id, which makes it total.
 *
 * Rows without a value for a sort key come last in either direction. A `previous` page runs
 * the same query in the reverse order and reverses the rows it gets.
 */
import { badRequest } from '../outcomes.js';
import type { SortExpression } from './compile-search.js';
import type { SqlParams } from './sql.js';

export interface Cursor {
  direction: 'next' | 'previous';
  /** The sort values (as PostgreSQL text) of the row the page is relative to. */
  values: Array<string | null>;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.direction === 'next' ? 'n' : 'p', cursor.values, cursor.id])).toString('base64url');
}

/**
 * What a cursor's value must look like to be cast to its key's type: the cursor comes back from
 * the client, and a value PostgreSQL cannot cast would fail the query instead of answering 400.
 */
const CASTABLE: Record<SortExpression['cast'], RegExp> = {
  text: /^[^\u0000]*$/,
  numeric: /^(-?\d+(\.\d+)?|-?Infinity|NaN)$/,
  timestamptz: /^(-?infinity|\d{4,}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}( BC)?)$/,
};

export function decodeCursor(raw: string, sort: SortExpression[]): Cursor {
  try {
    const [d, values, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [unknown, unknown, unknown];
    const valid =
      (d === 'n' || d === 'p') &&
      Array.isArray(values) &&
      values.length === sort.length &&
      values.every((v, i) => v === null || (typeof v === 'string' && CASTABLE[(sort[i] as SortExpression).cast].test(v))) &&
      typeof id === 'string' &&
      CASTABLE.text.test(id);
    if (valid) {
      return { direction: d === 'n' ? 'next' : 'previous', values: values as Array<string | null>, id: id as string };
    }
  } catch {
    // Falls through to the error below.
  }
  throw badRequest('_cursor is not one this server made for this search', '_cursor');
}

/** One key as the query sees it: the output column, its type, and its effective direction. */
interface Key {
  column: string;
  cast: string;
  descending: boolean;
  nullsLast: boolean;
}

function keysFor(sort: SortExpression[], reversed: boolean): Key[] {
  return sort.map((s, i) => ({ column: `t.k${i}`, cast: s.cast, descending: s.descending !== reversed, nullsLast: !reversed }));
}

export function orderBy(sort: SortExpression[], reversed: boolean): string {
  const keys = keysFor(sort, reversed).map((k) => `${k.column} ${k.descending ? 'DESC' : 'ASC'} NULLS ${k.nullsLast ? 'LAST' : 'FIRST'}`);
  return [...keys, `t.id ${reversed ? 'DESC' : 'ASC'}`].join(', ');
}

/** The condition "ordered after the cursor's row" (in the reversed order for a previous page). */
export function keysetCondition(sort: SortExpression[], cursor: Cursor, params: SqlParams): string {
  const reversed = cursor.direction === 'previous';
  const keys = keysFor(sort, reversed);
  const id = params.add(cursor.id, 'text');
  const alternatives: string[] = [];
  const equalSoFar: string[] = [];
  keys.forEach((key, i) => {
    const value = cursor.values[i] ?? null;
    const placeholder = value === null ? undefined : params.add(value, key.cast);
    const after = afterValue(key, placeholder);
    if (after !== 'false') {
      alternatives.push([...equalSoFar, after].join(' AND '));
    }
    equalSoFar.push(placeholder === undefined ? `${key.column} IS NULL` : `${key.column} = ${placeholder}`);
  });
  alternatives.push([...equalSoFar, `t.id ${reversed ? '<' : '>'} ${id}`].join(' AND '));
  return `(${alternatives.map((a) => `(${a})`).join(' OR ')})`;
}

function afterValue(key: Key, placeholder: string | undefined): string {
  if (placeholder === undefined) {
    return key.nullsLast ? 'false' : `${key.column} IS NOT NULL`;
  }
  const strictly = `${key.column} ${key.descending ? '<' : '>'} ${placeholder}`;
  return key.nullsLast ? `(${strictly} OR ${key.column} IS NULL)` : strictly;
}
