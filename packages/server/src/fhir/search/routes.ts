/**
 * Search over HTTP: `GET [base]/[type]?...` and `POST [base]/[type]/_search` with an
 * `application/x-www-form-urlencoded` body (https://hl7.org/fhir/R4/http.html#search).
 * Parameters in the URL and the body of a POST are combined. `Prefer: handling=lenient`
 * makes unknown parameters ignored instead of refused. All rules are the Repository's.
 * Registered inside the authenticated FHIR routes.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FHIR_JSON } from '../../http/errors.js';
import { badRequest } from '../outcomes.js';
import type { Repository } from '../repository.js';
import { buildSearchBundle } from './bundle.js';

export interface SearchRoutesOptions {
  /** `http://host/fhir/R4/`, with the trailing slash. */
  fhirBase: string;
  repo(request: FastifyRequest): Repository;
}

type Params = { type: string };
type Entries = Array<[string, string]>;

const FORM = 'application/x-www-form-urlencoded';

export async function searchRoutes(app: FastifyInstance, options: SearchRoutesOptions): Promise<void> {
  // The app removes Fastify's default parsers; a search body is form-encoded, so this scope adds that one.
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
    done(null, [...new URLSearchParams(body as string)]);
  });

  const search = async (request: FastifyRequest<{ Params: Params }>, entries: Entries): Promise<unknown> => {
    const lenient = /(^|[;,\s])handling=lenient\b/.test(String(request.headers.prefer ?? ''));
    const result = await options.repo(request).search(request.params.type, entries, { lenient, fhirBase: options.fhirBase });
    return buildSearchBundle(options.fhirBase, result);
  };

  app.get<{ Params: Params }>('/:type', async (request, reply) => {
    reply.type(FHIR_JSON).send(await search(request, queryEntries(request)));
  });

  app.post<{ Params: Params; Body: unknown }>('/:type/_search', async (request, reply) => {
    if (request.body !== undefined && !Array.isArray(request.body)) {
      throw badRequest(`Send search parameters in the URL or as an ${FORM} body`);
    }
    const body = (request.body as Entries | undefined) ?? [];
    reply.type(FHIR_JSON).send(await search(request, [...queryEntries(request), ...body]));
  });
}

/** The query string as ordered name/value pairs, repeats kept (a repeated parameter is an AND). */
function queryEntries(request: FastifyRequest): Entries {
  const q = request.url.indexOf('?');
  return q < 0 ? [] : [...new URLSearchParams(request.url.slice(q + 1))];
}
