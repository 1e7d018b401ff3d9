/**
 * FHIR date, dateTime and instant values as the half-open instant range they cover at their
 * precision (https://hl7.org/fhir/R4/search.html#date): `2020` is [2020-01-01, 2021-01-01),
 * `2020-03-04T10:15` is [10:15:00, 10:16:00). Stored values and search values use the same
 * rule, so "2020-03 contains 2020-03-04" is a comparison of ranges.
 *
 * A value with no time zone (a date, or a search value without one) is taken as UTC, the
 * server's time zone: the spec leaves this to the server.
 */

export interface InstantRange {
  /** ISO instant (or PostgreSQL's `-infinity`) where the range starts, inclusive. */
  low: string;
  /** ISO instant (or `infinity`) where the range ends, exclusive. */
  high: string;
  /** `low` and `high` in epoch milliseconds (+-Infinity for open ends), for arithmetic. */
  lowMs: number;
  highMs: number;
}

const PATTERN = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

export const OPEN_LOW = '-infinity';
export const OPEN_HIGH = 'infinity';

/** The range a date, dateTime or instant string covers; undefined when it is not one. */
export function parseDateRange(value: string): InstantRange | undefined {
  const m = PATTERN.exec(value);
  if (!m) {
    return undefined;
  }
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  const month = mo === undefined ? 1 : Number(mo);
  const day = d === undefined ? 1 : Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const millis = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  if (!validParts(year, month, day, hour, minute, second)) {
    return undefined;
  }
  const offsetMs = parseOffset(tz);
  const start = utc(year, month, day, hour, minute, second, millis) - offsetMs;
  let end: number;
  if (mo === undefined) end = utc(year + 1, 1, 1, 0, 0, 0, 0);
  else if (d === undefined) end = utc(year, month + 1, 1, 0, 0, 0, 0);
  else if (h === undefined) end = utc(year, month, day + 1, 0, 0, 0, 0);
  else if (s === undefined) end = start + 60_000;
  else if (frac === undefined) end = start + 1000;
  // Past milliseconds JavaScript cannot count; a millisecond is a slightly wider range, never a narrower one.
  else end = start + Math.max(1, 10 ** (3 - frac.length));
  return { low: new Date(start).toISOString(), high: new Date(end).toISOString(), lowMs: start, highMs: end };
}

function utc(year: number, month: number, day: number, hour: number, minute: number, second: number, millis: number): number {
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
  // Date.UTC maps years 0-99 to 1900-1999; set the year explicitly.
  date.setUTCFullYear(year + date.getUTCFullYear() - 2000);
  return date.getTime();
}

function validParts(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  // 2000 is a leap year, so this allows 29 February; other years are checked below.
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate();
  return day <= daysInMonth && !(month === 2 && day === 29 && !isLeap(year));
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function parseOffset(tz: string | undefined): number {
  if (tz === undefined || tz === 'Z') {
    return 0;
  }
  const sign = tz.startsWith('-') ? -1 : 1;
  const [hh, mm] = tz.slice(1).split(':').map(Number);
  return sign * ((hh ?? 0) * 60 + (mm ?? 0)) * 60_000;
}

/**
 * A Period's range: its start's low to its end's high, open where a bound is missing. A Period
 * that ends before it starts (against invariant per-1) covers both its instants, so no stored
 * range is empty: the date search conditions (compile-date.ts) rely on low < high.
 */
export function periodRange(start: string | undefined, end: string | undefined): InstantRange | undefined {
  const from = start === undefined ? undefined : parseDateRange(start);
  const to = end === undefined ? undefined : parseDateRange(end);
  if ((start !== undefined && !from) || (end !== undefined && !to) || (!from && !to)) {
    return undefined;
  }
  if (from && to && from.lowMs >= to.highMs) {
    return { low: to.low, high: from.high, lowMs: to.lowMs, highMs: from.highMs };
  }
  return {
    low: from?.low ?? OPEN_LOW,
    high: to?.high ?? OPEN_HIGH,
    lowMs: from?.lowMs ?? -Infinity,
    highMs: to?.highMs ?? Infinity,
  };
}
