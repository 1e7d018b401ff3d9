/**
 * Extraction of token, string, reference and uri values
 * (https://hl7.org/fhir/R4/search.html#token, #string, #reference, #uri).
 */
import type { TypedValue } from '@medplum/core';
import type { Address, CodeableConcept, Coding, ContactPoint, HumanName, Identifier, Reference } from '@medplum/fhirtypes';
import { isKnownResourceType } from '../definitions.js';
import type { IndexRows, TokenRow } from './index-rows.js';
import { normalizeText, truncateIndexed } from './normalize.js';

/** FHIR primitive types whose value is a plain string or number. */
const PRIMITIVES = new Set(['string', 'code', 'id', 'uri', 'url', 'canonical', 'oid', 'uuid', 'markdown', 'integer', 'positiveInt', 'unsignedInt', 'decimal', 'boolean']);

const orNull = (value: string | undefined): string | null => (value === undefined || value === '' ? null : truncateIndexed(value));
const textOrNull = (value: string | undefined): string | null => (value ? normalizeText(value) : null);

export function extractTokens(code: string, values: TypedValue[], rows: IndexRows): void {
  const add = (row: Omit<TokenRow, 'code' | 'typeSystem' | 'typeCode'> & Partial<TokenRow>): void => {
    rows.token.push({ code, system: row.system, value: row.value, text: row.text, typeSystem: row.typeSystem ?? null, typeCode: row.typeCode ?? null });
  };
  for (const { type, value } of values) {
    if (type === 'Coding') {
      const c = value as Coding;
      add({ system: orNull(c.system), value: orNull(c.code), text: textOrNull(c.display) });
    } else if (type === 'CodeableConcept') {
      const cc = value as CodeableConcept;
      for (const c of cc.coding ?? []) add({ system: orNull(c.system), value: orNull(c.code), text: textOrNull(c.display) });
      if (cc.text) add({ system: null, value: null, text: textOrNull(cc.text) });
    } else if (type === 'Identifier') {
      const id = value as Identifier;
      const base = { system: orNull(id.system), value: orNull(id.value), text: textOrNull(id.type?.text) };
      const types = id.type?.coding ?? [];
      if (types.length === 0) add(base);
      for (const t of types) add({ ...base, typeSystem: orNull(t.system), typeCode: orNull(t.code) });
    } else if (type === 'ContactPoint') {
      const cp = value as ContactPoint;
      add({ system: orNull(cp.system), value: orNull(cp.value), text: null });
    } else if (PRIMITIVES.has(type) && value !== undefined && value !== null) {
      add({ system: null, value: orNull(String(value)), text: null });
    }
  }
}

export function extractStrings(code: string, values: TypedValue[], rows: IndexRows): void {
  const add = (text: string | undefined): void => {
    if (text && text.trim() !== '') {
      rows.string.push({ code, value: normalizeText(text), exact: text });
    }
  };
  for (const { type, value } of values) {
    if (type === 'HumanName') {
      const n = value as HumanName;
      [n.text, n.family, ...(n.given ?? []), ...(n.prefix ?? []), ...(n.suffix ?? [])].forEach(add);
    } else if (type === 'Address') {
      const a = value as Address;
      [a.text, ...(a.line ?? []), a.city, a.district, a.state, a.postalCode, a.country].forEach(add);
    } else if (PRIMITIVES.has(type) && typeof value === 'string') {
      add(value);
    }
  }
}

/** `Type/id` or `Type/id/_history/vid`, Type a known resource type (https://hl7.org/fhir/R4/references.html#literal). */
const LOCAL_REFERENCE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** A reference's type and id when it points into this server; otherwise the whole string is the target. */
export function parseLocalReference(reference: string): { targetType: string; targetId: string } | undefined {
  const m = LOCAL_REFERENCE.exec(reference);
  return m && isKnownResourceType(m[1] as string) ? { targetType: m[1] as string, targetId: m[2] as string } : undefined;
}

export function extractReferences(code: string, values: TypedValue[], rows: IndexRows): void {
  for (const { type, value } of values) {
    const reference = type === 'Reference' ? (value as Reference).reference : typeof value === 'string' ? value : undefined;
    // A contained reference (#id) points inside the resource itself: nothing to find it by.
    if (!reference || reference.startsWith('#')) {
      continue;
    }
    const local = parseLocalReference(reference);
    rows.reference.push({
      code,
      targetType: local?.targetType ?? null,
      targetId: local?.targetId ?? truncateIndexed(reference),
      reference,
    });
  }
}

export function extractUris(code: string, values: TypedValue[], rows: IndexRows): void {
  for (const { value } of values) {
    if (typeof value === 'string' && value !== '') {
      rows.uri.push({ code, value: truncateIndexed(value) });
    }
  }
}
