/**
 * `POST /admin/projects/:projectId/members/:membershipId/$explain`: what a member's access
 * policy does with one interaction, for an admin's "preview as this member". The body is
 *   {interaction: 'read'|'vread'|'update'|'delete'|'history'|'create', reference: 'Observation/123'}
 *   {interaction: 'search', resourceType: 'Observation', query: 'code=1234-5'}
 * and the answer {allowed, decidedBy: {policy, entry} | null, reason, hiddenFields}.
 *
 * It uses the enforcement code itself (src/fhir/access-policy/): the same policy loading and
 * substitution, the same per-type rules, and, for a resource, the entry's criteria compiled by
 * the search compiler and run against the stored row; it changes nothing. For a search it
 * reports whether the search is refused and which entries will narrow it (a search is never
 * "denied" by criteria: it returns fewer resources).
 */
import type { AccessPolicy, ProjectMembership } from '@medplum/fhirtypes';
import type { FastifyInstance } from 'fastify';
import { fieldRules, assertSearchAvoidsHidden } from '../fhir/access-policy/fields.js';
import { buildMemberPolicy, policyIdsOf } from '../fhir/access-policy/load-policy.js';
import { ALL_INTERACTIONS, typeAccess, type PolicyEntry, type PolicyHolder, type PolicyInteraction } from '../fhir/access-policy/member-policy.js';
import { compileEntry } from '../fhir/access-policy/policy-sql.js';
import { isKnownResourceType } from '../fhir/definitions.js';
import { badRequest, notFound, OutcomeError } from '../fhir/outcomes.js';
import { ADMIN_ONLY, SERVER_ONLY, unreadableTypes } from '../fhir/protected-types.js';
import { systemScope, type Scope } from '../fhir/scope.js';
import { parseSearchRequest } from '../fhir/search/parse.js';
import { ROOT_ROW } from '../fhir/search/sql.js';
import { SystemRepository } from '../fhir/system-repository.js';
import { requireProjectAdmin, type AdminPart, type AdminRoutesOptions } from './admin-routes.js';

interface ExplainBody {
  interaction?: unknown;
  reference?: unknown;
  resourceType?: unknown;
  query?: unknown;
}

export interface Explanation {
  allowed: boolean;
  decidedBy: { policy: { reference?: string; display?: string }; entry: number } | null;
  reason: string;
  hiddenFields: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const explainRoutes: AdminPart = async (app: FastifyInstance, options: AdminRoutesOptions) => {
  const { deps } = options;
  app.post<{ Params: { projectId: string; membershipId: string }; Body: ExplainBody }>('/projects/:projectId/members/:membershipId/$explain', async (request, reply) => {
    const ctx = requireProjectAdmin(request, request.params.projectId);
    const projectId = ctx.superAdmin ? request.params.projectId.toLowerCase() : ctx.projectId;
    const scope = systemScope(projectId);
    const system = new SystemRepository(deps);
    const membershipId = request.params.membershipId;
    const membership = UUID.test(membershipId) ? await system.read<ProjectMembership>(scope, 'ProjectMembership', membershipId) : undefined;
    if (!membership) {
      throw notFound(`ProjectMembership/${membershipId} not found`);
    }
    const policies = (await Promise.all(policyIdsOf(membership).map((id) => (UUID.test(id) ? system.read<AccessPolicy>(scope, 'AccessPolicy', id) : undefined)))).filter(
      (p): p is AccessPolicy & { id: string } => p !== undefined,
    );
    const policy = buildMemberPolicy(projectId, membership, policies);
    const holder: PolicyHolder = { admin: membership.admin === true, superAdmin: false, ...(policy ? { policy } : {}) };
    const body = (request.body ?? {}) as ExplainBody;
    const explanation = body.interaction === 'search' ? explainSearch(holder, body) : await explainResource(holder, body, scope, deps.store, deps.clock.now());
    reply.status(200).send(explanation);
  });
};

type Store = AdminRoutesOptions['deps']['store'];

function decided(entry: PolicyEntry | undefined): Explanation['decidedBy'] {
  return entry ? { policy: entry.policy, entry: entry.index } : null;
}

/** The type-level rules, as the Repository applies them; undefined when they leave the decision to the entries. */
function typeRules(holder: PolicyHolder, resourceType: string, interaction: PolicyInteraction): Explanation | undefined {
  const hiddenFields = fieldRules(holder, resourceType).hidden;
  if (SERVER_ONLY.has(resourceType)) {
    return { allowed: false, decidedBy: null, reason: `${resourceType} is the server's alone: no member reaches it`, hiddenFields };
  }
  if (ADMIN_ONLY.has(resourceType) && !holder.admin) {
    return { allowed: false, decidedBy: null, reason: `${resourceType} is for project admins only; no policy grants it`, hiddenFields };
  }
  if (!holder.policy) {
    return { allowed: true, decidedBy: null, reason: 'The membership names no access policy: full access to the types its role allows', hiddenFields };
  }
  if (holder.admin && ADMIN_ONLY.has(resourceType)) {
    return { allowed: true, decidedBy: null, reason: `${resourceType} is reached by the admin role, outside any policy`, hiddenFields };
  }
  const access = typeAccess(holder, resourceType, interaction);
  if (access.kind === 'none') {
    return { allowed: false, decidedBy: null, reason: `No policy entry grants ${interaction} on ${resourceType} (403)`, hiddenFields };
  }
  if (access.kind === 'all') {
    const entry = access.entries.find((e) => !e.criteria && !e.compartment);
    return { allowed: true, decidedBy: decided(entry), reason: `An entry grants ${interaction} on every ${resourceType}`, hiddenFields };
  }
  return undefined;
}

async function explainResource(holder: PolicyHolder, body: ExplainBody, scope: Scope, store: Store, now: Date): Promise<Explanation> {
  const interaction = body.interaction;
  if (typeof interaction !== 'string' || !(ALL_INTERACTIONS as readonly string[]).includes(interaction)) {
    throw badRequest(`interaction must be one of ${ALL_INTERACTIONS.join(', ')}`, 'interaction');
  }
  const reference = typeof body.reference === 'string' ? body.reference : '';
  const [resourceType, id] = reference.split('/') as [string, string | undefined];
  if (!isKnownResourceType(resourceType) || (interaction !== 'create' && (!id || !/^[A-Za-z0-9\-.]{1,64}$/.test(id)))) {
    throw badRequest('reference must be Type/id (for create, Type or Type/id)', 'reference');
  }
  const rules = typeRules(holder, resourceType, interaction as PolicyInteraction);
  if (rules || interaction === 'create' || !id) {
    return rules ?? { allowed: true, decidedBy: null, reason: 'Create is allowed when the new resource satisfies one of the entries\' criteria', hiddenFields: fieldRules(holder, resourceType).hidden };
  }
  const hiddenFields = fieldRules(holder, resourceType).hidden;
  const access = typeAccess(holder, resourceType, interaction as PolicyInteraction);
  const entries = access.kind === 'some' ? access.entries : [];
  for (const entry of entries) {
    const ok = await store.rowSatisfies(scope, resourceType, id, (params) => compileEntry(entry, params, { fhirBase: '', now }, ROOT_ROW, resourceType));
    if (ok) {
      const what = entry.criteria && entry.compartment ? "criteria and compartment" : entry.criteria ? 'criteria' : 'compartment';
      return { allowed: true, decidedBy: decided(entry), reason: `${reference} satisfies the entry's ${what}`, hiddenFields };
    }
  }
  return { allowed: false, decidedBy: null, reason: `${reference} does not exist or satisfies no entry granting ${interaction} on ${resourceType} (the member gets 404)`, hiddenFields };
}

function explainSearch(holder: PolicyHolder, body: ExplainBody): Explanation {
  const resourceType = typeof body.resourceType === 'string' ? body.resourceType : '';
  if (!isKnownResourceType(resourceType)) {
    throw badRequest('resourceType must be a resource type', 'resourceType');
  }
  const rules = typeRules(holder, resourceType, 'search');
  if (rules && !rules.allowed) return rules;
  const query = typeof body.query === 'string' ? body.query.replace(/^\?/, '') : '';
  const hiddenFields = fieldRules(holder, resourceType).hidden;
  try {
    const unreadable = [...unreadableTypes({ admin: holder.admin, superAdmin: false } as never)];
    const request = parseSearchRequest(resourceType, [...new URLSearchParams(query)] as Array<[string, string]>, false, unreadable);
    assertSearchAvoidsHidden(holder, request);
  } catch (err) {
    if (err instanceof OutcomeError) {
      return { allowed: false, decidedBy: null, reason: `The search is refused (${err.status}): ${err.message}`, hiddenFields };
    }
    throw err;
  }
  if (rules) return rules;
  const access = typeAccess(holder, resourceType, 'search');
  const entries = access.kind === 'some' ? access.entries : [];
  return { allowed: true, decidedBy: decided(entries[0]), reason: `Allowed; results are limited to ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}' criteria (union)`, hiddenFields };
}
