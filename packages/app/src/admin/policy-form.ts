/**
 * The access policy editor's model: entries as the form edits them, to and from the
 * AccessPolicy resource, and the server's errors (`resource[2].criteria`) placed on the entry
 * and field they name.
 */
import type { AccessPolicy, AccessPolicyResource } from '@medplum/fhirtypes';
import { readFormErrors } from '../form-errors';

export interface EntryDraft {
  /** Stable React key; not sent. */
  key: number;
  resourceType: string;
  criteria: string;
  readonly: boolean;
  hiddenFields: string;
}

export interface PolicyErrors {
  general: string[];
  name?: string;
  /** entry index → field → message */
  entries: Record<number, Partial<Record<'resourceType' | 'criteria' | 'hiddenFields', string>>>;
}

let nextKey = 1;

export function newEntry(resourceType = ''): EntryDraft {
  return { key: nextKey++, resourceType, criteria: '', readonly: false, hiddenFields: '' };
}

export function entriesOf(policy: AccessPolicy | undefined): EntryDraft[] {
  return (policy?.resource ?? []).map((r) => ({
    key: nextKey++,
    resourceType: r.resourceType ?? '',
    criteria: r.criteria ?? '',
    readonly: !!r.readonly,
    hiddenFields: (r.hiddenFields ?? []).join(', '),
  }));
}

/** The policy to save: the loaded one (other fields kept) with this name and these entries. */
export function policyFrom(base: AccessPolicy | undefined, name: string, entries: EntryDraft[]): AccessPolicy {
  const resource: AccessPolicyResource[] = entries.map((e) => {
    const hidden = e.hiddenFields
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
    return {
      resourceType: e.resourceType.trim(),
      ...(e.criteria.trim() ? { criteria: e.criteria.trim() } : {}),
      ...(e.readonly ? { readonly: true } : {}),
      ...(hidden.length ? { hiddenFields: hidden } : {}),
    };
  });
  return { ...(base ?? {}), resourceType: 'AccessPolicy', name: name.trim(), resource };
}

const ENTRY = /^(?:AccessPolicy\.)?resource\[(\d+)\](?:\.(resourceType|criteria|hiddenFields|readonlyFields))?/;

export function readPolicyErrors(error: unknown): PolicyErrors {
  const base = readFormErrors(error, { name: 'name', 'AccessPolicy.name': 'name' });
  const result: PolicyErrors = { general: [], entries: {}, ...(base.fields.name ? { name: base.fields.name } : {}) };
  // readFormErrors put every entry error in `general`; the expressions say where each belongs.
  const outcome = (error as { outcome?: { issue?: { expression?: string[]; details?: { text?: string }; diagnostics?: string }[] } }).outcome;
  const placed = new Set<string>();
  for (const issue of outcome?.issue ?? []) {
    const text = issue.details?.text ?? issue.diagnostics ?? '';
    const match = (issue.expression ?? []).map((x) => ENTRY.exec(x)).find(Boolean);
    if (!match) continue;
    const index = Number(match[1]);
    const field = match[2] === 'resourceType' ? 'resourceType' : match[2] === 'hiddenFields' || match[2] === 'readonlyFields' ? 'hiddenFields' : 'criteria';
    result.entries[index] = { ...result.entries[index], [field]: text };
    placed.add(text);
  }
  result.general = base.general.filter((t) => !placed.has(t));
  return result;
}
