/**
 * Search over HTTP: `GET [base]/[type]?...` and `POST [base]/[type]/_search` with an
 * `application/x-www-form-urlencoded` body (https://hl7.org/fhir/R4/http.html#search).
 * Parameters in the URL and the body of a POST are combined. `Prefer: handling=lenient`
 * makes unknown parameters ignored instead of refused. All rules are the Repository's.
 * Also compartment search, `GET [base]/Patient/[id]/[type]?...` (and its POST `_search`), and
 * `GET [base]/Patient/[id]/$everything`; the Patient compartment is the only one served.
 * Registered inside the authenticated FHIR routes; `/:type/:id/_history` (a static last
 * segment) takes precedence over the compartment route.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FHIR_JSON } from '../../http/errors.js';
import { badRequest, notFound } from '../outcomes.js';
import type { Repository } from '../repository.js';
import { buildSearchBundle } from './bundle.js';
import { buildEverythingBundle } from './everything.js';

export interface SearchRoutesOptions {
  /** `http://host/fhir/R4/`, with the trailing slash. */
  fhirBase: string;
  repo(request: FastifyRequest): Repository;
}

type Params = { type: string };
type CompartmentParams = { compartment: string; id: string; type: string };
type Entries = Array<[string, string]>;

const FORM = 'application/x-www-form-urlencoded';

export async function searchRoutes(app: FastifyInstance, options: SearchRoutesOptions): Promise<void> {
  // The app removes Fastify's default parsers; a search body is form-encoded, so this scope adds that one.
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
    done(null, [...new URLSearchParams(body as string)]);
  });

  const search = async (request: FastifyRequest<{ Params: Params }>, entries: Entries, compartment?: string): Promise<unknown> => {
    const result = await options.repo(request).search(request.params.type, entries, { lenient: isLenient(request), fhirBase: options.fhirBase, compartment });
    return buildSearchBundle(options.fhirBase, result);
  };

  app.get<{ Params: Params }>('/:type', async (request, reply) => {
    reply.type(FHIR_JSON).send(await search(request, queryEntries(request)));
  });

  app.post<{ Params: Params; Body: unknown }>('/:type/_search', async (request, reply) => {
    const body = formBody(request.body);
    reply.type(FHIR_JSON).send(await search(request, [...queryEntries(request), ...body]));
  });

  app.get<{ Params: CompartmentParams }>('/:compartment/:id/:type', async (request, reply) => {
    reply.type(FHIR_JSON).send(await search(request, queryEntries(request), patientCompartmentId(request.params)));
  });

  app.post<{ Params: CompartmentParams; Body: unknown }>('/:compartment/:id/:type/_search', async (request, reply) => {
    const id = patientCompartmentId(request.params);
    reply.type(FHIR_JSON).send(await search(request, [...queryEntries(request), ...formBody(request.body)], id));
  });

  app.get<{ Params: Omit<CompartmentParams, 'type'> }>('/:compartment/:id/$everything', async (request, reply) => {
    const id = patientCompartmentId({ ...request.params, type: '$everything' });
    const { request: parsed, page } = await options.repo(request).everything(id, queryEntries(request), { lenient: isLenient(request) });
    reply.type(FHIR_JSON).send(buildEverythingBundle(options.fhirBase, id, parsed, page));
  });
}

function isLenient(request: FastifyRequest): boolean {
  return /(^|[;,\s])handling=lenient\b/.test(String(request.headers.prefer ?? ''));
}

/** The Patient id of `Patient/{id}/...`; other compartments (Encounter, Practitioner, ...) are not served. */
function patientCompartmentId(params: CompartmentParams): string {
  if (params.compartment !== 'Patient') {
    throw notFound(`${params.compartment}/${params.id}/${params.type}: only the Patient compartment is served`);
  }
  return params.id;
}

function formBody(body: unknown): Entries {
  if (body !== undefined && !Array.isArray(body)) {
    throw badRequest(`Send search parameters in the URL or as an ${FORM} body`);
  }
  return (body as Entries | undefined) ?? [];
}

/** The query string as ordered name/value pairs, repeats kept (a repeated parameter is an AND). */
function queryEntries(request: FastifyRequest): Entries {
  const q = request.url.indexOf('?');
  return q < 0 ? [] : [...new URLSearchParams(request.url.slice(q + 1))];
}
