/**
 * Request bodies: JSON, FHIR JSON and JSON Patch, parsed defensively before any handler
 * sees them (security-notes, design rule 8). The size cap is Fastify's `bodyLimit` (413);
 * here: invalid UTF-8, malformed JSON, a NUL character (PostgreSQL's jsonb cannot store it),
 * keys that could reach an object's prototype, and nesting deeper than the configured limit.
 * Each failure is a 400 OperationOutcome saying what is wrong.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest } from '../fhir/outcomes.js';

export const JSON_CONTENT_TYPES = ['application/json', 'application/fhir+json', 'application/json-patch+json'];

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function parseJsonBody(body: Buffer, maxDepth: number): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw badRequest('The request body is not valid UTF-8');
  }
  if (text.trim() === '') {
    throw badRequest('The request body is empty');
  }
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) {
        throw new ForbiddenKeyError(key);
      }
      if (typeof v === 'string' && v.includes('\u0000')) {
        throw new NulCharacterError(key);
      }
      return v;
    });
  } catch (err) {
    if (err instanceof ForbiddenKeyError) {
      throw badRequest(`The property name "${err.key}" is not allowed`, err.key);
    }
    if (err instanceof NulCharacterError) {
      throw badRequest('Strings may not contain the NUL character (\\u0000)', err.key || undefined);
    }
    throw badRequest(`Malformed JSON: ${(err as Error).message}`);
  }
  const depth = measureDepth(value, maxDepth);
  if (depth > maxDepth) {
    throw badRequest(`The JSON is nested deeper than ${maxDepth} levels`);
  }
  return value;
}

class ForbiddenKeyError extends Error {
  constructor(readonly key: string) {
    super(key);
  }
}

class NulCharacterError extends Error {
  constructor(readonly key: string) {
    super(key);
  }
}

/** Depth of nested objects and arrays, iteratively, stopping as soon as it passes `limit`. */
function measureDepth(root: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (typeof value !== 'object' || value === null) {
      continue;
    }
    max = Math.max(max, depth);
    if (max > limit) {
      return max;
    }
    for (const child of Object.values(value)) {
      stack.push([child, depth + 1]);
    }
  }
  return max;
}

export function registerJsonParsers(app: FastifyInstance, maxDepth: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_CONTENT_TYPES, { parseAs: 'buffer' }, (_req: FastifyRequest, body: Buffer, done) => {
    try {
      done(null, parseJsonBody(body, maxDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
