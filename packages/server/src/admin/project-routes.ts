/**
 * The project and member routes of the admin API (Medplum's paths under `/admin/projects`,
 * plus a member list and restore): thin HTTP over the services in members.ts,
 * member-update.ts and member-list.ts. Every route first checks, with requireProjectAdmin,
 * that the caller is an admin of the project in the path (a super admin: of any project).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FHIR_JSON } from '../http/errors.js';
import { allOk } from '../fhir/outcomes.js';
import { requireProjectAdmin, type AdminPart } from './admin-routes.js';
import { listMembers, parseMemberListQuery } from './member-list.js';
import { updateMember } from './member-update.js';
import { readMember, readProjectForAdmin, removeMember, restoreMember, type AdminActor } from './members.js';

interface ProjectParams {
  projectId: string;
}
interface MemberParams extends ProjectParams {
  id: string;
}

function actorOf(request: FastifyRequest, ctx: ReturnType<typeof requireProjectAdmin>): AdminActor {
  return { who: ctx.author, onBehalfOf: ctx.profile, remoteAddress: request.ip };
}

export const projectRoutes: AdminPart = async (app: FastifyInstance, { deps }) => {
  app.get<{ Params: ProjectParams }>('/projects/:projectId', async (request) => {
    const ctx = requireProjectAdmin(request, request.params.projectId);
    return { project: await readProjectForAdmin(deps, request.params.projectId.toLowerCase(), ctx.superAdmin) };
  });

  app.get<{ Params: ProjectParams; Querystring: Record<string, unknown> }>('/projects/:projectId/members', async (request) => {
    requireProjectAdmin(request, request.params.projectId);
    const projectId = request.params.projectId.toLowerCase();
    const query = parseMemberListQuery(request.query);
    const page = await listMembers(deps, projectId, query);
    if (!page.nextCursor) {
      return { members: page.members };
    }
    const next = new URL(`admin/projects/${projectId}/members`, deps.baseUrl);
    if (query.profileType) next.searchParams.set('profileType', query.profileType);
    if (query.removed) next.searchParams.set('removed', 'true');
    next.searchParams.set('_count', String(query.count));
    next.searchParams.set('_cursor', page.nextCursor);
    return { members: page.members, next: next.toString() };
  });

  app.get<{ Params: MemberParams }>('/projects/:projectId/members/:id', async (request, reply) => {
    requireProjectAdmin(request, request.params.projectId);
    reply.type(FHIR_JSON);
    return readMember(deps, request.params.projectId.toLowerCase(), request.params.id);
  });

  app.post<{ Params: MemberParams }>('/projects/:projectId/members/:id', async (request, reply) => {
    const ctx = requireProjectAdmin(request, request.params.projectId);
    const updated = await updateMember(deps, actorOf(request, ctx), request.params.projectId.toLowerCase(), request.params.id, request.body);
    reply.type(FHIR_JSON);
    return updated;
  });

  app.delete<{ Params: MemberParams }>('/projects/:projectId/members/:id', async (request, reply) => {
    const ctx = requireProjectAdmin(request, request.params.projectId);
    await removeMember(deps, actorOf(request, ctx), request.params.projectId.toLowerCase(), request.params.id);
    reply.type(FHIR_JSON);
    return allOk(`Removed ProjectMembership/${request.params.id}`);
  });

  app.post<{ Params: MemberParams }>('/projects/:projectId/members/:id/restore', async (request, reply) => {
    const ctx = requireProjectAdmin(request, request.params.projectId);
    const restored = await restoreMember(deps, actorOf(request, ctx), request.params.projectId.toLowerCase(), request.params.id);
    reply.type(FHIR_JSON);
    return restored;
  });
};
