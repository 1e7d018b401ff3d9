/**
 * Number and quantity parameters (https://hl7.org/fhir/R4/search.html#number, #quantity).
 * A search number carries its precision: `100` means [99.5, 100.5) and `100.00` means
 * [99.995, 100.005), so `eq` (and `ne`) compare against that interval; the other prefixes
 * compare against the number itself. `ap` is within 10% of it. A quantity is
 * `[prefix]number|system|code`, or `number||code` to match a code or unit in any system.
 * Stored numbers are ranges [low, high] (a Range; a plain number is low = high).
 */
import { badRequest } from '../outcomes.js';
import { splitUnescaped, unescapeValue } from './escaping.js';
import { truncateIndexed } from './normalize.js';
import type { SearchFilter } from './parse.js';
import { splitPrefix, type Prefix } from './prefix.js';
import { and, anyIndexRow, or, type CompileContext, type RowRef, type SqlParams } from './sql.js';

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

interface Columns {
  low: string;
  high: string;
}

export function compileNumber(filter: SearchFilter, params: SqlParams, _ctx: CompileContext, row: RowRef): string {
  checkNoModifier(filter);
  const code = params.add(filter.param.code);
  const cols = { low: 's.low', high: 's.high' };
  return anyIndexRow('search_number', code, or(filter.values.map((raw) => relateNumber(cols, unescapeValue(raw), filter, params))), row);
}

export function compileQuantity(filter: SearchFilter, params: SqlParams, _ctx: CompileContext, row: RowRef): string {
  checkNoModifier(filter);
  const code = params.add(filter.param.code);
  const cols = { low: 's.value', high: 's.value' };
  const conditions = filter.values.map((raw) => {
    const parts = splitUnescaped(raw, '|').map(unescapeValue);
    if (parts.length !== 1 && parts.length !== 3) {
      throw badRequest(`"${raw}" is not a quantity: use [prefix]number, or [prefix]number|system|code`, filter.name);
    }
    const [number, system, unit] = parts as [string, string?, string?];
    return and([relateNumber(cols, number, filter, params), ...unitConditions(system ?? '', unit ?? '', params)]);
  });
  return anyIndexRow('search_quantity', code, or(conditions), row);
}

function checkNoModifier(filter: SearchFilter): void {
  if (filter.modifier !== undefined) {
    throw badRequest(`Modifier ":${filter.modifier}" is not supported on ${filter.param.type} parameter "${filter.param.code}"`, filter.name);
  }
}

function unitConditions(system: string, unit: string, params: SqlParams): string[] {
  const conditions: string[] = [];
  if (system !== '') {
    conditions.push(`s.system = ${params.add(truncateIndexed(system))}`);
  }
  if (unit !== '') {
    const u = params.add(truncateIndexed(unit));
    // With a system, the code is a coded unit; without one, it may be the code or the human unit.
    conditions.push(system !== '' ? `s.unit_code = ${u}` : `(s.unit_code = ${u} OR s.unit = ${u})`);
  }
  return conditions;
}

function relateNumber(cols: Columns, raw: string, filter: SearchFilter, params: SqlParams): string {
  const { prefix, rest } = splitPrefix(raw);
  if (!NUMBER.test(rest)) {
    throw badRequest(`"${raw}" is not a number, with an optional prefix (eq, ne, gt, lt, ge, le, sa, eb, ap)`, filter.name);
  }
  const v = params.add(rest, 'numeric');
  return relate(cols, prefix, v, () => params.add(halfUnit(rest), 'numeric'));
}

function relate(c: Columns, prefix: Prefix, v: string, half: () => string): string {
  switch (prefix) {
    case 'eq':
      return withinPrecision(c, v, half());
    case 'ne':
      return `NOT ${withinPrecision(c, v, half())}`;
    case 'gt':
      return `${c.high} > ${v}`;
    case 'lt':
      return `${c.low} < ${v}`;
    case 'ge':
      return `${c.high} >= ${v}`;
    case 'le':
      return `${c.low} <= ${v}`;
    case 'sa':
      return `${c.low} > ${v}`;
    case 'eb':
      return `${c.high} < ${v}`;
    case 'ap':
      return `(${c.low} >= ${v} - abs(${v}) * 0.1 AND ${c.high} <= ${v} + abs(${v}) * 0.1)`;
  }
}

function withinPrecision(c: Columns, v: string, h: string): string {
  return `(${c.low} >= ${v} - ${h} AND ${c.high} < ${v} + ${h})`;
}

/** Half a unit of the last significant digit: "100" -> 0.5, "100.00" -> 0.005, "1e2" -> 50. */
export function halfUnit(value: string): string {
  const m = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(value);
  const decimals = m?.[2]?.length ?? 0;
  const exponent = Number(m?.[3] ?? 0);
  return `5e${exponent - decimals - 1}`;
}
