/**
 * JSON Patch (RFC 6902) on a resource, for `PATCH` with `application/json-patch+json`.
 * The operations are checked before any is applied, paths through `__proto__`,
 * `constructor` or `prototype` are refused, and the document is a copy: a failing patch
 * changes nothing. The result is validated by the repository like any other write.
 */
import type { Resource } from '@medplum/fhirtypes';
import jsonpatch from 'fast-json-patch';
import { badRequest } from './outcomes.js';

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);
const FORBIDDEN_SEGMENT = /(^|\/)(__proto__|constructor|prototype)(\/|$)/;

export function applyJsonPatch(resource: Resource, operations: unknown): Resource {
  if (!Array.isArray(operations)) {
    throw badRequest('A JSON Patch body must be an array of operations');
  }
  operations.forEach((op: unknown, i) => {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) {
      throw badRequest(`Patch operation ${i} must be an object`, `[${i}]`);
    }
    const o = op as Record<string, unknown>;
    if (typeof o.op !== 'string' || !OPS.has(o.op)) {
      throw badRequest(`Patch operation ${i}: "op" must be one of ${[...OPS].join(', ')}`, `[${i}].op`);
    }
    for (const key of ['path', 'from'] as const) {
      const path = o[key];
      if (key === 'path' || path !== undefined) {
        if (typeof path !== 'string' || (path !== '' && !path.startsWith('/'))) {
          throw badRequest(`Patch operation ${i}: "${key}" must be a JSON Pointer`, `[${i}].${key}`);
        }
        if (FORBIDDEN_SEGMENT.test(path)) {
          throw badRequest(`Patch operation ${i}: "${key}" may not address ${path}`, `[${i}].${key}`);
        }
      }
    }
  });
  const document = structuredClone(resource);
  let result: unknown;
  try {
    result = jsonpatch.applyPatch(document, operations as jsonpatch.Operation[], true, true, true).newDocument;
  } catch (err) {
    const e = err as { name?: string; message?: string; index?: number };
    if (e.name === 'TEST_OPERATION_FAILED') {
      throw badRequest(`Patch test operation ${e.index ?? ''} failed`.trim(), `[${e.index ?? 0}]`);
    }
    const detail = (e.message ?? String(err)).split('\n')[0];
    throw badRequest(`Patch could not be applied: ${detail}`, e.index === undefined ? undefined : `[${e.index}]`);
  }
  // An operation on the root ("path": "") can replace or remove the whole document.
  if (typeof result !== 'object' || result === null || Array.isArray(result)) {
    throw badRequest('A patch must leave a resource (a JSON object)');
  }
  return result as Resource;
}
