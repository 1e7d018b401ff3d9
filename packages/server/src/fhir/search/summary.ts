/**
 * `_summary` and `_elements` (https://hl7.org/fhir/R4/search.html#summary,
 * #elements): the returned resources keep only part of their elements, and say so with the
 * SUBSETTED tag. Kept always: resourceType, id, meta and the type's mandatory elements.
 * Which elements are "summary" comes from the StructureDefinitions (`@medplum/core`'s schema).
 * `_elements` takes top-level names only.
 */
import { tryGetDataType } from '@medplum/core';
import type { Coding, Resource } from '@medplum/fhirtypes';
import type { Summary } from './parse.js';

/** https://hl7.org/fhir/R4/v3/ObservationValue/cs.html#v3-ObservationValue-SUBSETTED */
export const SUBSETTED: Coding = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

const ALWAYS = ['resourceType', 'id', 'meta'];

export function subsetResource(resource: Resource, summary: Summary | undefined, elements: string[] | undefined): Resource {
  const schema = tryGetDataType(resource.resourceType);
  const mandatory = [...(schema?.mandatoryProperties ?? [])];
  if (elements) {
    return keep(resource, [...ALWAYS, ...mandatory, ...elements], schema?.elements);
  }
  switch (summary) {
    case 'true':
      return keep(resource, [...ALWAYS, ...mandatory, ...(schema?.summaryProperties ?? [])], schema?.elements);
    case 'text':
      return keep(resource, [...ALWAYS, ...mandatory, 'text'], schema?.elements);
    case 'data': {
      const { text: _text, ...rest } = resource as Resource & { text?: unknown };
      return tag(rest as Resource);
    }
    default:
      return resource;
  }
}

function keep(resource: Resource, names: string[], elements: Record<string, unknown> | undefined): Resource {
  const wanted = new Set(names);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    // `_birthDate` carries the extensions of `birthDate`, and travels with it.
    const base = key.startsWith('_') ? key.slice(1) : key;
    if (wanted.has(base) || wanted.has(choiceName(base, elements))) {
      out[key] = value;
    }
  }
  return tag(out as unknown as Resource);
}

/** `deceasedBoolean` -> `deceased`, when the type has the choice element `deceased[x]`. */
function choiceName(key: string, elements: Record<string, unknown> | undefined): string {
  for (let i = key.length - 1; i > 0; i--) {
    const head = key.slice(0, i);
    if (/[A-Z]/.test(key[i] as string) && elements?.[`${head}[x]`]) {
      return head;
    }
  }
  return key;
}

function tag(resource: Resource): Resource {
  const meta = resource.meta ?? {};
  const tags = (meta.tag ?? []).filter((t) => !(t.system === SUBSETTED.system && t.code === SUBSETTED.code));
  return { ...resource, meta: { ...meta, tag: [...tags, SUBSETTED] } } as Resource;
}
