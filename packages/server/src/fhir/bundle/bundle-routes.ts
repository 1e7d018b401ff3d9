/**
 * `POST [base]` with a batch or transaction Bundle (https://hl7.org/fhir/R4/http.html#transaction).
 * Registered inside the authenticated FHIR routes; the work is process-bundle.ts's.
 * A failed transaction answers the failing entry's status with an OperationOutcome naming
 * the entry; a batch answers 200 with each entry's own status.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Random } from '../../deps.js';
import { FHIR_JSON } from '../../http/errors.js';
import type { Repository } from '../repository.js';
import { processBundle } from './process-bundle.js';

export interface BundleRoutesOptions {
  /** `http://host/fhir/R4/`, with the trailing slash. */
  fhirBase: string;
  repo(request: FastifyRequest): Repository;
  random: Random;
  maxEntries: number;
}

export async function bundleRoutes(app: FastifyInstance, options: BundleRoutesOptions): Promise<void> {
  app.post<{ Body: unknown }>('/', async (request, reply) => {
    const prefer = request.headers.prefer;
    const response = await processBundle(options.repo(request), request.body, {
      fhirBase: options.fhirBase,
      random: options.random,
      maxEntries: options.maxEntries,
      prefer: Array.isArray(prefer) ? prefer.join(', ') : prefer,
      onInternalError: (err, entryIndex) => request.log.error({ err, entryIndex }, 'batch entry failed'),
    });
    reply.type(FHIR_JSON).send(response);
  });
}
