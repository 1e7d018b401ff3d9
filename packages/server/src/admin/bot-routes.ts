/**
 * Bots of a project (Medplum's `POST /admin/projects/:projectId/bot`): the Bot and its own
 * ProjectMembership (`user` = `profile` = the Bot, with the optional access policy), created
 * with the audit record in one transaction. Bots do not run yet: unlike Medplum, no Binary with
 * starter source code is made and `runtimeVersion` is not accepted; the record and its identity
 * exist so that policies and audit can name it.
 */
import type { Bot, ProjectMembership } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AuditDeps } from '../audit/audit-log.js';
import { FHIR_JSON } from '../http/errors.js';
import { parseBody } from '../http/parse-body.js';
import { systemScope } from '../fhir/scope.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { requireProjectAdmin, type AdminPart } from './admin-routes.js';
import { accessPolicyReference, assertPolicyInProject, auditAdminAction, identityMembership, requireProject, type AdminCaller } from './clients.js';

const createBotSchema = z.object({
  name: z.string().trim().min(1, 'is required').max(256),
  description: z.string().max(2000).optional(),
  accessPolicy: accessPolicyReference.optional(),
});

type CreateBotInput = z.infer<typeof createBotSchema>;

export async function createBot(deps: AuditDeps, caller: AdminCaller, projectId: string, input: CreateBotInput): Promise<Bot & { id: string }> {
  const system = new SystemRepository(deps);
  const scope = systemScope(projectId);
  return deps.db.transaction(async (tx) => {
    await requireProject(deps, projectId, tx);
    await assertPolicyInProject(deps, projectId, input.accessPolicy, tx);
    const bot = await system.create<Bot>(scope, { resourceType: 'Bot', name: input.name, ...(input.description !== undefined ? { description: input.description } : {}) }, tx);
    const identity = { reference: `Bot/${bot.id}`, display: input.name };
    const membership = await system.create<ProjectMembership>(scope, identityMembership(projectId, identity, input.accessPolicy), tx);
    await auditAdminAction(deps, tx, projectId, caller, 'bot-create', [{ reference: identity.reference }, { reference: `ProjectMembership/${membership.id}` }], `Created bot "${input.name}"`);
    return bot;
  });
}

interface ProjectParams {
  projectId: string;
}

export const botRoutes: AdminPart = async (app: FastifyInstance, { deps }) => {
  app.post<{ Params: ProjectParams }>('/projects/:projectId/bot', async (request, reply) => {
    const ctx = requireProjectAdmin(request, request.params.projectId);
    const input = parseBody(createBotSchema, request.body);
    const bot = await createBot(deps, { ctx, remoteAddress: request.ip }, request.params.projectId.toLowerCase(), input);
    reply.code(201).type(FHIR_JSON);
    return bot;
  });
};
