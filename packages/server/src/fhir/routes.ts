/**
 * FHIR REST at `/fhir/R4`: create, read, vread, update, patch, delete, history, metadata
 * (https://hl7.org/fhir/R4/http.html). The routes translate HTTP to Repository calls and
 * back; all rules live in the Repository. Every route but `metadata` needs a bearer token.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, type AuthenticateDeps } from '../auth/authenticate.js';
import { FHIR_JSON } from '../http/errors.js';
import { buildCapabilityStatement } from './capability-statement.js';
import { buildHistoryBundle } from './history-bundle.js';
import { allOk, badRequest, outcome } from './outcomes.js';
import { Repository, type RepositoryDeps } from './repository.js';
import type { HistoryQuery } from './resource-store.js';
import { searchRoutes } from './search/routes.js';
import { bundleRoutes } from './bundle/bundle-routes.js';
import { conditionalCreate, conditionalDelete, conditionalUpdate } from './conditional.js';
import { isNotModified } from './conditional-read.js';

export interface FhirRoutesOptions {
  deps: RepositoryDeps & AuthenticateDeps;
  baseUrl: string;
  version: string;
  /** The most entries a batch or transaction Bundle may have (BUNDLE_MAX_ENTRIES). */
  bundleMaxEntries: number;
}

type Params = { type: string; id: string; vid: string };

const MAX_HISTORY_COUNT = 1000;
const DEFAULT_HISTORY_COUNT = 100;
const HISTORY_PARAMS = new Set(['_count', '_since', '_cursor']);

export async function fhirRoutes(app: FastifyInstance, options: FhirRoutesOptions): Promise<void> {
  const fhirBase = `${options.baseUrl}fhir/R4/`;
  const startedAt = new Date().toISOString();
  const repo = (request: FastifyRequest): Repository => {
    if (!request.ctx) {
      throw new Error('route reached without authentication');
    }
    return new Repository(request.ctx, options.deps);
  };

  app.get('/metadata', async (_request, reply) => {
    reply.type(FHIR_JSON).send(buildCapabilityStatement(options.baseUrl, options.version, startedAt));
  });

  await app.register(async (secured) => {
    // onRequest, before the body is read: an anonymous caller gets 401 without making the server parse anything.
    secured.addHook('onRequest', authenticate(options.deps));

    // Search: GET /:type and POST /:type/_search (src/fhir/search/routes.ts).
    await secured.register(searchRoutes, { fhirBase, repo });
    // Batch and transaction: POST / (src/fhir/bundle/).
    await secured.register(bundleRoutes, { fhirBase, repo, random: options.deps.random, maxEntries: options.bundleMaxEntries });
    // Conditional create, update and delete: src/fhir/conditional.ts.
    const conditional = { fhirBase, random: options.deps.random };

    secured.post<{ Params: Params; Body: unknown }>('/:type', async (request, reply) => {
      const body = asResource(request.body);
      if (body.resourceType !== request.params.type) {
        throw badRequest(`resourceType "${String(body.resourceType)}" does not match the URL's "${request.params.type}"`, 'resourceType');
      }
      const ifNoneExist = header(request, 'if-none-exist');
      const { resource, created } = ifNoneExist === undefined ? await repo(request).create(body) : await conditionalCreate(repo(request), body, ifNoneExist, conditional);
      sendWritten(reply, request, fhirBase, resource, created ? 201 : 200);
    });

    secured.put<{ Params: Params; Body: unknown }>('/:type', async (request, reply) => {
      const query = queryString(request);
      if (query === undefined) {
        throw badRequest('PUT needs a resource id (PUT [type]/[id]) or search criteria (PUT [type]?criteria)', 'url');
      }
      const writeOptions = { ifMatch: header(request, 'if-match') };
      const { resource, created } = await conditionalUpdate(repo(request), request.params.type, query, asResource(request.body), writeOptions, conditional);
      sendWritten(reply, request, fhirBase, resource, created ? 201 : 200);
    });

    secured.delete<{ Params: Params }>('/:type', async (request, reply) => {
      const query = queryString(request);
      if (query === undefined) {
        throw badRequest('DELETE needs a resource id (DELETE [type]/[id]) or search criteria (DELETE [type]?criteria)', 'url');
      }
      const deleted = await conditionalDelete(repo(request), request.params.type, query, conditional);
      reply.status(200).type(FHIR_JSON).send(allOk(`Deleted ${deleted.length} ${request.params.type}${deleted.length === 1 ? '' : 's'}`));
    });

    secured.get<{ Params: Params }>('/:type/:id', async (request, reply) => {
      const resource = await repo(request).read(request.params.type, request.params.id);
      if (isNotModified(resource, { ifNoneMatch: header(request, 'if-none-match'), ifModifiedSince: header(request, 'if-modified-since') })) {
        sendNotModified(reply, resource);
        return;
      }
      sendResource(reply, resource, 200);
    });

    secured.get<{ Params: Params }>('/:type/:id/_history/:vid', async (request, reply) => {
      const resource = await repo(request).vread(request.params.type, request.params.id, request.params.vid);
      sendResource(reply, resource, 200);
    });

    secured.put<{ Params: Params; Body: unknown }>('/:type/:id', async (request, reply) => {
      const { resource, created } = await repo(request).update(request.params.type, request.params.id, asResource(request.body), {
        ifMatch: header(request, 'if-match'),
      });
      sendWritten(reply, request, fhirBase, resource, created ? 201 : 200);
    });

    secured.patch<{ Params: Params; Body: unknown }>('/:type/:id', async (request, reply) => {
      if (!String(request.headers['content-type']).startsWith('application/json-patch+json')) {
        reply.status(415).type(FHIR_JSON).send(outcome('not-supported', 'PATCH needs Content-Type: application/json-patch+json'));
        return;
      }
      const resource = await repo(request).patch(request.params.type, request.params.id, request.body, { ifMatch: header(request, 'if-match') });
      sendWritten(reply, request, fhirBase, resource, 200);
    });

    secured.delete<{ Params: Params }>('/:type/:id', async (request, reply) => {
      await repo(request).delete(request.params.type, request.params.id, { ifMatch: header(request, 'if-match') });
      reply.status(200).type(FHIR_JSON).send(allOk(`Deleted ${request.params.type}/${request.params.id}`));
    });

    const history = async (request: FastifyRequest, reply: FastifyReply, scope: Pick<HistoryQuery, 'resourceType' | 'id'>): Promise<void> => {
      const query = parseHistoryQuery(request);
      const versions = await repo(request).history({ ...scope, ...query, limit: query.limit + 1 });
      const selfUrl = new URL(request.url, options.baseUrl).toString();
      reply.type(FHIR_JSON).send(buildHistoryBundle(fhirBase, selfUrl, versions, query.limit));
    };
    secured.get('/_history', (request, reply) => history(request, reply, {}));
    secured.get<{ Params: Params }>('/:type/_history', (request, reply) => history(request, reply, { resourceType: request.params.type }));
    secured.get<{ Params: Params }>('/:type/:id/_history', (request, reply) =>
      history(request, reply, { resourceType: request.params.type, id: request.params.id }),
    );
  });
}

function asResource(body: unknown): Resource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('The request body must be a JSON object (a FHIR resource)');
  }
  if (typeof (body as { resourceType?: unknown }).resourceType !== 'string') {
    throw badRequest('The resource has no resourceType', 'resourceType');
  }
  return body as Resource;
}

/** The raw query string, or undefined when the URL has none. */
function queryString(request: FastifyRequest): string | undefined {
  const q = request.url.indexOf('?');
  return q < 0 ? undefined : request.url.slice(q + 1);
}

/** 304 for a conditional read: the validators, no body (https://hl7.org/fhir/R4/http.html#cread). */
function sendNotModified(reply: FastifyReply, resource: Resource): void {
  reply.header('ETag', `W/"${resource.meta?.versionId}"`);
  if (resource.meta?.lastUpdated) {
    reply.header('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
  }
  reply.status(304).send();
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sendResource(reply: FastifyReply, resource: Resource, status: number): void {
  if (resource.meta?.versionId) {
    reply.header('ETag', `W/"${resource.meta.versionId}"`);
  }
  if (resource.meta?.lastUpdated) {
    reply.header('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
  }
  reply.status(status).type(FHIR_JSON).send(resource);
}

/** A write's answer: Location, ETag, and the body `Prefer: return=` asks for (https://hl7.org/fhir/R4/http.html#ops). */
function sendWritten(reply: FastifyReply, request: FastifyRequest, fhirBase: string, resource: Resource, status: number): void {
  reply.header('Location', `${fhirBase}${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`);
  const prefer = header(request, 'prefer') ?? '';
  if (/return=minimal/.test(prefer)) {
    reply.header('ETag', `W/"${resource.meta?.versionId}"`);
    reply.status(status).send();
    return;
  }
  if (/return=OperationOutcome/.test(prefer)) {
    reply.header('ETag', `W/"${resource.meta?.versionId}"`);
    reply.status(status).type(FHIR_JSON).send(allOk(`${resource.resourceType}/${resource.id} saved`));
    return;
  }
  sendResource(reply, resource, status);
}

function parseHistoryQuery(request: FastifyRequest): Omit<HistoryQuery, 'resourceType' | 'id'> {
  const query = request.query as Record<string, string | string[]>;
  const lenient = /handling=lenient/.test(header(request, 'prefer') ?? '');
  const single = (name: string): string | undefined => {
    const value = query[name];
    if (Array.isArray(value)) {
      throw badRequest(`${name} may be given once`, name);
    }
    return value;
  };
  for (const name of Object.keys(query)) {
    if (!HISTORY_PARAMS.has(name) && !lenient) {
      throw badRequest(`Unknown history parameter "${name}"`, name);
    }
  }
  const count = single('_count');
  const limit = count === undefined ? DEFAULT_HISTORY_COUNT : /^\d{1,9}$/.test(count) ? Number(count) : NaN;
  if (!Number.isInteger(limit) || limit < 1) {
    throw badRequest('_count must be a positive whole number', '_count');
  }
  const result: Omit<HistoryQuery, 'resourceType' | 'id'> = { limit: Math.min(limit, MAX_HISTORY_COUNT) };
  const since = single('_since');
  if (since !== undefined) result.since = parseInstant(since, '_since');
  const cursor = single('_cursor');
  if (cursor !== undefined) {
    if (!/^\d{1,18}$/.test(cursor)) {
      throw badRequest('_cursor is not one this server made', '_cursor');
    }
    result.beforeSeq = cursor;
  }
  return result;
}

function parseInstant(value: string, name: string): Date {
  const date = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/.test(value) ? new Date(value) : undefined;
  // Date rolls 2026-02-30 over to March 2: the day must exist.
  if (!date || Number.isNaN(date.getTime()) || !validCalendarDate(value)) {
    throw badRequest(`${name} must be a FHIR instant, e.g. 2026-01-31T12:00:00Z`, name);
  }
  return date;
}

/** True when the YYYY-MM-DD part names a real day (no 30 February, no month 13). */
function validCalendarDate(value: string): boolean {
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(value);
  if (!match) return false;
  const year = Number(match[1]);
  const month = match[2] === undefined ? 1 : Number(match[2]);
  const day = match[3] === undefined ? 1 : Number(match[3]);
  const probe = new Date(Date.UTC(year, month - 1, day));
  return month >= 1 && month <= 12 && probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day;
}
