/**
 * References inside a transaction (https://hl7.org/fhir/R4/bundle.html#references,
 * https://hl7.org/fhir/R4/http.html#trules): every `reference` that names an entry's
 * `fullUrl` (`urn:uuid:…`, `urn:oid:…`, or an absolute URL) becomes that entry's `Type/id`,
 * and every conditional reference (`Patient?identifier=sys|val`) becomes the `Type/id` of
 * the one resource its search finds, wherever the reference sits (nested elements, arrays,
 * contained resources). A `urn:` reference that no entry declares is an error, not a
 * dangling link. Only `reference` elements are rewritten: a string elsewhere that happens to
 * equal a fullUrl (an identifier's value) keeps its meaning. Inputs are not changed: a
 * rewritten copy is returned, so a failed attempt can be retried from the original.
 */
import { badRequest } from '../outcomes.js';

const CONDITIONAL = /^([A-Z][A-Za-z]*)\?(.+)$/s;
const LOCAL_URN = /^urn:(uuid|oid):/i;
const URN_IN_QUERY = /urn:(?:uuid|oid):[^&,|\s]+/gi;

export interface ReferenceResolver {
  /** fullUrl -> `Type/id` of this Bundle's entries. */
  ids: ReadonlyMap<string, string>;
  /** `Type/id` of the one resource a conditional reference finds; throws for none or several. */
  resolveConditional(type: string, query: string, where: string): Promise<string>;
}

/**
 * A copy of `value` with its references resolved. `at` is the path of `value` for errors
 * (`Bundle.entry[2].resource`).
 */
export async function resolveReferences<T>(value: T, resolver: ReferenceResolver, at: string): Promise<T> {
  const found: Array<{ path: string; reference: string }> = [];
  visitReferences(value, at, (path, reference) => found.push({ path, reference }));
  const replacements = new Map<string, string>();
  for (const { path, reference } of found) {
    if (replacements.has(reference)) {
      continue;
    }
    const mapped = resolver.ids.get(reference);
    if (mapped !== undefined) {
      replacements.set(reference, mapped);
    } else if (LOCAL_URN.test(reference)) {
      throw badRequest(`${reference} is not the fullUrl of any entry in this Bundle`, path);
    } else {
      const conditional = CONDITIONAL.exec(reference);
      if (conditional) {
        replacements.set(reference, await resolver.resolveConditional(conditional[1] as string, conditional[2] as string, path));
      }
    }
  }
  return replacements.size === 0 ? value : (replaceReferences(value, replacements) as T);
}

/** The query of an entry's url with the entries' `urn:` fullUrls in it replaced (`subject=urn:uuid:…`). */
export function resolveUrnsInQuery(query: string, ids: ReadonlyMap<string, string>): string {
  return query.replace(URN_IN_QUERY, (urn) => ids.get(urn) ?? urn);
}

function visitReferences(value: unknown, path: string, visit: (path: string, reference: string) => void): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => visitReferences(item, `${path}[${i}]`, visit));
    return;
  }
  if (typeof value !== 'object' || value === null) {
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (key === 'reference' && typeof child === 'string') {
      visit(`${path}.reference`, child);
    } else if (typeof child === 'object' && child !== null) {
      visitReferences(child, `${path}.${key}`, visit);
    }
  }
}

function replaceReferences(value: unknown, replacements: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => replaceReferences(item, replacements));
  }
  if (typeof value !== 'object' || value === null) {
    return value;
  }
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    copy[key] = key === 'reference' && typeof child === 'string' ? (replacements.get(child) ?? child) : replaceReferences(child, replacements);
  }
  return copy;
}
