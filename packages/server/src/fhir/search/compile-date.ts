/**
 * Date parameters (https://hl7.org/fhir/R4/search.html#date). The search value and the stored
 * value are both ranges at their precision ([a, b) and [low, high), see date-range.ts), and
 * each prefix is the spec's relation between them:
 *   eq  the search range contains the target          a <= low AND high <= b
 *   ne  not eq
 *   gt  the range above the search value overlaps it  high > b
 *   lt  the range below overlaps it                   low < a
 *   ge  gt, or eq                                     le  lt, or eq
 * Each is written with a redundant bound on low or high where one follows (stored ranges are
 * never empty, low < high), so an index on (code, low) or (code, high) bounds the scan
 * (migration 0006 adds the second).
 *   sa  starts after the search range                 low >= b
 *   eb  ends before it                                high <= a
 *   ap  overlaps the search range widened by 10% of its distance from now (at least a day)
 * `_lastUpdated` compiles the same relations against the resource table's instant column.
 */
import { badRequest } from '../outcomes.js';
import { parseDateRange, type InstantRange } from './date-range.js';
import type { SearchFilter } from './parse.js';
import { splitPrefix, type Prefix } from './prefix.js';
import { and, anyIndexRow, or, type CompileContext, type RowRef, type SqlParams } from './sql.js';

const DAY_MS = 86_400_000;

/** How the target's bounds are written in SQL; an instant column is a point, its high just past low. */
interface Target {
  lowGe(x: string): string;
  lowLt(x: string): string;
  highGt(x: string): string;
  highLe(x: string): string;
}

const RANGE_ROW: Target = {
  lowGe: (x) => `s.low >= ${x}`,
  lowLt: (x) => `s.low < ${x}`,
  highGt: (x) => `s.high > ${x}`,
  highLe: (x) => `s.high <= ${x}`,
};

/** The resource table's `last_updated` of the row the condition is about. */
function lastUpdated(row: RowRef): Target {
  const column = `${row.alias}.last_updated`;
  return {
    lowGe: (x) => `${column} >= ${x}`,
    lowLt: (x) => `${column} < ${x}`,
    highGt: (x) => `${column} >= ${x}`,
    highLe: (x) => `${column} < ${x}`,
  };
}

export function compileDate(filter: SearchFilter, params: SqlParams, ctx: CompileContext, row: RowRef): string {
  if (filter.modifier !== undefined) {
    throw badRequest(`Modifier ":${filter.modifier}" is not supported on date parameter "${filter.param.code}"`, filter.name);
  }
  const column = filter.param.column === 'last_updated';
  const target = column ? lastUpdated(row) : RANGE_ROW;
  const conditions = filter.values.map((raw) => {
    const { prefix, rest } = splitPrefix(raw);
    return relate(target, prefix, parseSearchDate(rest, filter), params, ctx);
  });
  if (column) {
    return or(conditions);
  }
  return anyIndexRow('search_date', params.add(filter.param.code), or(conditions), row);
}

function parseSearchDate(value: string, filter: SearchFilter): InstantRange {
  // An unencoded "+" in a query string arrives as a space: "2020-01-01T10:00:00 01:00".
  const repaired = value.replace(/ (\d{2}:\d{2})$/, '+$1');
  const range = parseDateRange(repaired);
  if (!range) {
    throw badRequest(`"${value}" is not a FHIR date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][Z|+hh:mm], with an optional prefix (eq, ne, gt, lt, ge, le, sa, eb, ap)`, filter.name);
  }
  return range;
}

function relate(t: Target, prefix: Prefix, range: InstantRange, params: SqlParams, ctx: CompileContext): string {
  // Bounds are added only when used: PostgreSQL refuses a parameter no statement text mentions.
  const a = (): string => params.add(range.low, 'timestamptz');
  const b = (): string => params.add(range.high, 'timestamptz');
  // a <= low and high <= b; low < b follows (low < high), and bounds an index on low from both sides.
  const within = (): string => {
    const high = b();
    return and([t.lowGe(a()), t.lowLt(high), t.highLe(high)]);
  };
  switch (prefix) {
    case 'eq':
      return within();
    case 'ne':
      return `NOT ${within()}`;
    case 'gt':
      return t.highGt(b());
    case 'lt':
      return t.lowLt(a());
    case 'ge': {
      // gt or eq. Both imply high > a (a stored range is never empty: low < high), which is
      // written first so that an index on high can bound the scan.
      const low = a();
      return and([t.highGt(low), or([t.highGt(b()), t.lowGe(low)])]);
    }
    case 'le': {
      // lt or eq; both imply low < b, the bound an index on low can use.
      const high = b();
      return and([t.lowLt(high), or([t.lowLt(a()), t.highLe(high)])]);
    }
    case 'sa':
      return t.lowGe(b());
    case 'eb':
      return t.highLe(a());
    case 'ap':
      return approximately(t, range, params, ctx);
  }
}

function approximately(t: Target, range: InstantRange, params: SqlParams, ctx: CompileContext): string {
  const now = ctx.now.getTime();
  const widen = (ms: number): number => Math.max(DAY_MS, Math.abs(now - ms) * 0.1);
  const low = params.add(new Date(range.lowMs - widen(range.lowMs)).toISOString(), 'timestamptz');
  const high = params.add(new Date(range.highMs + widen(range.highMs)).toISOString(), 'timestamptz');
  // Overlap of the target with the widened range.
  return and([t.lowLt(high), t.highGt(low)]);
}
