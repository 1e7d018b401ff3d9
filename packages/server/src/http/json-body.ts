/**
 * Request bodies: JSON, FHIR JSON and JSON Patch, parsed defensively before any handler
 * sees them (security-notes, design rule 8). The size cap is Fastify's `bodyLimit` (413);
 * here: invalid UTF-8, malformed JSON, nesting deeper than the configured limit (checked on
 * the text, before parsing), keys that could reach an object's prototype, and text that
 * PostgreSQL's jsonb cannot store: a NUL character or a lone UTF-16 surrogate (`"\ud800"`),
 * in a value or a key. Each failure is a 400 OperationOutcome saying what is wrong.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest } from '../fhir/outcomes.js';

export const JSON_CONTENT_TYPES = ['application/json', 'application/fhir+json', 'application/json-patch+json'];

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
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
  // Before parsing: JSON.parse's reviver recurses, so a deep enough body would overflow the stack.
  if (nestsDeeperThan(text, maxDepth)) {
    throw badRequest(`The JSON is nested deeper than ${maxDepth} levels`);
  }
  try {
    return JSON.parse(text, (key, v: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) {
        throw new ForbiddenKeyError(key);
      }
      if (!isStorable(key)) {
        throw new UnstorableTextError(key);
      }
      if (typeof v === 'string' && !isStorable(v)) {
        throw new UnstorableTextError(key);
      }
      return v;
    });
  } catch (err) {
    if (err instanceof ForbiddenKeyError) {
      throw badRequest(`The property name "${err.key}" is not allowed`, err.key);
    }
    if (err instanceof UnstorableTextError) {
      throw badRequest('Strings may not contain the NUL character (\\u0000) or an unpaired surrogate (\\ud800-\\udfff)', err.key || undefined);
    }
    throw badRequest(`Malformed JSON: ${(err as Error).message}`);
  }
}

function isStorable(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

class ForbiddenKeyError extends Error {
  constructor(readonly key: string) {
    super(key);
  }
}

class UnstorableTextError extends Error {
  constructor(readonly key: string) {
    super(key);
  }
}

/** Whether objects and arrays nest deeper than `limit`, counting brackets outside strings in one pass. */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') {
        i++; // The escaped character cannot end the string.
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
    } else if (c === '{' || c === '[') {
      if (++depth > limit) {
        return true;
      }
    } else if (c === '}' || c === ']') {
      depth--;
    }
  }
  return false;
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
