/**
 * Client applications of a project (Medplum's `POST /admin/projects/:projectId/client`, plus
 * secret rotation, disable and enable): thin HTTP over clients.ts. Every route first checks,
 * with requireProjectAdmin, that the caller is an admin of the project in the path; a bad body
 * is a 400 naming the field, and nothing is written for either.
 */
import type { FastifyInstance } from 'fastify';
import { FHIR_JSON } from '../http/errors.js';
import { parseBody } from '../http/parse-body.js';
import { requireProjectAdmin, type AdminPart } from './admin-routes.js';
import { createClient, createClientSchema, rotateClientSecret, setClientStatus } from './clients.js';

interface ProjectParams {
  projectId: string;
}
interface ClientParams extends ProjectParams {
  id: string;
}

export const clientRoutes: AdminPart = async (app: FastifyInstance, { deps }) => {
  // 201 with the ClientApplication, its secret included: the one time the admin API shows it.
  app.post<{ Params: ProjectParams }>('/projects/:projectId/client', async (request, reply) => {
    const ctx = requireProjectAdmin(request, request.params.projectId);
    const input = parseBody(createClientSchema, request.body);
    const client = await createClient(deps, { ctx, remoteAddress: request.ip }, request.params.projectId.toLowerCase(), input);
    reply.code(201).type(FHIR_JSON);
    return client;
  });

  // 200 with the ClientApplication and its new secret; the old secret is refused from now on.
  app.post<{ Params: ClientParams }>('/projects/:projectId/client/:id/rotate-secret', async (request, reply) => {
    const ctx = requireProjectAdmin(request, request.params.projectId);
    reply.type(FHIR_JSON);
    return rotateClientSecret(deps, { ctx, remoteAddress: request.ip }, request.params.projectId.toLowerCase(), request.params.id);
  });

  for (const [path, status] of [
    ['disable', 'off'],
    ['enable', 'active'],
  ] as const) {
    app.post<{ Params: ClientParams }>(`/projects/:projectId/client/:id/${path}`, async (request, reply) => {
      const ctx = requireProjectAdmin(request, request.params.projectId);
      reply.type(FHIR_JSON);
      return setClientStatus(deps, { ctx, remoteAddress: request.ip }, request.params.projectId.toLowerCase(), request.params.id, status);
    });
  }
};
