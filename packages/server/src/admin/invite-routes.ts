/**
 * The invite part of the admin API (issue 5, "Invite"):
 * - `POST /admin/projects/:projectId/invite`: Medplum's invite (invite-service.ts); answers 200
 *   with the ProjectMembership, as Medplum does, and the header `X-Tessera-Email` saying what
 *   became of the mail (invite-mail.ts): `sent`, `stored`, `not-sent` or `none`. Medplum answers
 *   a failed mail with an OperationOutcome in place of the membership; here the membership
 *   is always the body, so a client never has to guess which it got.
 * - `POST /admin/projects/:projectId/invite/bulk` (bulk-invite.ts): rows as a JSON array,
 *   NDJSON or CSV (bulk-invite-input.ts); 200 with per-row results, each row its own invite.
 * - `POST /admin/projects/:projectId/members/:id/resend-invite` (invite-resend.ts): 200 with an
 *   OperationOutcome (information when the mail went out or was stored, a warning when it did
 *   not) and the same header.
 * The caller must be an admin of the project in the path (`requireProjectAdmin`), checked
 * before the body is read.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { RequestContext } from '../auth/request-context.js';
import { FHIR_JSON } from '../http/errors.js';
import type { Mailer } from '../email/mailer.js';
import { outcome, outcomeError } from '../fhir/outcomes.js';
import { bulkConcurrency, bulkInvite } from './bulk-invite.js';
import { formatOfContentType, readBulkRows } from './bulk-invite-input.js';
import { requireProjectAdmin, type AdminPart } from './admin-routes.js';
import { parseInviteBody } from './invite-input.js';
import { MAIL_STATUS_HEADER, sendInviteMail, type InviteMail, type MailStatus } from './invite-mail.js';
import { resendInvite } from './invite-resend.js';
import { inviteMember, requireProject, type InviteDeps } from './invite-service.js';

interface ProjectParams {
  projectId: string;
}

/** The caller, and the project it acts in: the path's for a super admin, else (already checked equal) the caller's own. */
function adminAndProject(request: FastifyRequest<{ Params: ProjectParams }>): { ctx: RequestContext; projectId: string } {
  const ctx = requireProjectAdmin(request, request.params.projectId);
  return { ctx, projectId: ctx.superAdmin ? request.params.projectId.toLowerCase() : ctx.projectId };
}

/** Sends after commit; a malformed message (never expected: the address was checked) counts as not sent. */
async function deliver(deps: Pick<InviteDeps, 'clock'> & { mailer: Mailer }, request: FastifyRequest, mail: InviteMail | undefined): Promise<MailStatus> {
  if (!mail) return 'none';
  try {
    return await sendInviteMail(deps.mailer, mail, deps.clock.now());
  } catch (err) {
    request.log.error({ err }, 'invite mail could not be built');
    return 'not-sent';
  }
}

export const inviteRoutes: AdminPart = async (app, { deps }) => {
  // Bulk bodies in text formats; this part's routes only (the plugin is encapsulated).
  app.addContentTypeParser(['text/csv', 'application/x-ndjson', 'application/ndjson', 'application/fhir+ndjson'], { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.post<{ Params: ProjectParams }>('/projects/:projectId/invite', async (request, reply: FastifyReply) => {
    const { ctx, projectId } = adminAndProject(request);
    const input = parseInviteBody(request.body);
    const result = await inviteMember(deps, { ctx, remoteAddress: request.ip }, projectId, input);
    const status = await deliver(deps, request, result.mail);
    return reply.header(MAIL_STATUS_HEADER, status).type(FHIR_JSON).send(result.membership);
  });

  app.post<{ Params: ProjectParams }>('/projects/:projectId/invite/bulk', async (request, reply: FastifyReply) => {
    const { ctx, projectId } = adminAndProject(request);
    const format = formatOfContentType(request.headers['content-type']);
    if (!format) throw outcomeError(415, 'not-supported', 'Send the rows as application/json (an array), application/x-ndjson or text/csv');
    const rows = readBulkRows(format, request.body);
    const project = await requireProject(deps, projectId);
    const result = await bulkInvite(deps, { ctx, remoteAddress: request.ip }, project, rows, { concurrency: bulkConcurrency(deps.db) });
    return reply.type('application/json; charset=utf-8').send(result);
  });

  app.post<{ Params: ProjectParams & { id: string } }>('/projects/:projectId/members/:id/resend-invite', async (request, reply: FastifyReply) => {
    const { ctx, projectId } = adminAndProject(request);
    const mail = await resendInvite(deps, { ctx, remoteAddress: request.ip }, projectId, request.params.id);
    const status = await deliver(deps, request, mail);
    const body: OperationOutcome =
      status === 'not-sent'
        ? outcome('transient', 'A new invite link was made, but the mail server did not take the mail; try again later', undefined, 'warning')
        : outcome('informational', status === 'sent' ? 'Invite sent' : 'Invite kept in the outbox (no mail server is configured)', undefined, 'information');
    return reply.header(MAIL_STATUS_HEADER, status).type(FHIR_JSON).send(body);
  });
};
