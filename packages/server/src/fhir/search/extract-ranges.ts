/**
 * Extraction of date, number and quantity values as ranges
 * (https://hl7.org/fhir/R4/search.html#date, #number, #quantity).
 */
import type { TypedValue } from '@medplum/core';
import type { Money, Period, Quantity, Range, Timing } from '@medplum/fhirtypes';
import { parseDateRange, periodRange, type InstantRange } from './date-range.js';
import type { IndexRows } from './index-rows.js';
import { truncateIndexed } from './normalize.js';

const DATE_TYPES = new Set(['date', 'dateTime', 'instant']);
const NUMBER_TYPES = new Set(['decimal', 'integer', 'positiveInt', 'unsignedInt', 'integer64']);
const QUANTITY_TYPES = new Set(['Quantity', 'Age', 'Count', 'Distance', 'Duration', 'SimpleQuantity', 'MoneyQuantity']);

/** ISO 4217, the currency system of Money (https://hl7.org/fhir/R4/datatypes.html#Money). */
const CURRENCY_SYSTEM = 'urn:iso:std:iso:4217';

export function extractDates(code: string, values: TypedValue[], rows: IndexRows): void {
  const add = (range: InstantRange | undefined): void => {
    if (range) rows.date.push({ code, low: range.low, high: range.high });
  };
  for (const { type, value } of values) {
    if (DATE_TYPES.has(type) && typeof value === 'string') {
      add(parseDateRange(value));
    } else if (type === 'Period') {
      const p = value as Period;
      add(periodRange(p.start, p.end));
    } else if (type === 'Timing') {
      const t = value as Timing;
      (t.event ?? []).forEach((e) => add(parseDateRange(e)));
      const bounds = t.repeat?.boundsPeriod;
      if (bounds) add(periodRange(bounds.start, bounds.end));
    }
  }
}

export function extractNumbers(code: string, values: TypedValue[], rows: IndexRows): void {
  for (const { type, value } of values) {
    if (NUMBER_TYPES.has(type) && typeof value === 'number') {
      rows.number.push({ code, low: String(value), high: String(value) });
    } else if (type === 'Range') {
      const r = value as Range;
      if (r.low?.value !== undefined || r.high?.value !== undefined) {
        rows.number.push({ code, low: numberOr(r.low?.value, '-Infinity'), high: numberOr(r.high?.value, 'Infinity') });
      }
    } else if (QUANTITY_TYPES.has(type) && typeof (value as Quantity).value === 'number') {
      const v = String((value as Quantity).value);
      rows.number.push({ code, low: v, high: v });
    }
  }
}

function numberOr(value: number | undefined, open: string): string {
  return value === undefined ? open : String(value);
}

export function extractQuantities(code: string, values: TypedValue[], rows: IndexRows): void {
  const text = (s: string | undefined): string | null => (s ? truncateIndexed(s) : null);
  for (const { type, value } of values) {
    if (QUANTITY_TYPES.has(type)) {
      const q = value as Quantity;
      if (typeof q.value === 'number') {
        rows.quantity.push({ code, value: String(q.value), system: text(q.system), unitCode: text(q.code), unit: text(q.unit) });
      }
    } else if (type === 'Money') {
      const m = value as Money;
      if (typeof m.value === 'number') {
        rows.quantity.push({ code, value: String(m.value), system: CURRENCY_SYSTEM, unitCode: text(m.currency), unit: null });
      }
    }
  }
}
