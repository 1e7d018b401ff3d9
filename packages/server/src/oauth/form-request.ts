/**
 * What the form-encoded `/oauth2/*` endpoints share: reading the body (RFC 6749 section 3.2:
 * each parameter at most once) and the client's credentials (section 2.3.1: HTTP Basic, or
 * `client_id`/`client_secret` in the body, not both), and verifying them.
 */
import type { ClientApplication } from '@medplum/fhirtypes';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OAuthError } from '../auth/auth-errors.js';
import { verifyClientSecret } from './client-auth.js';
import type { GrantDeps } from './grant-context.js';

export const FORM = 'application/x-www-form-urlencoded';

export type FormParams = Record<string, string>;

export interface ClientCredentials {
  id: string;
  secret?: string;
}

/** Lets a plugin accept form bodies; they are parsed (and checked) by `readForm`. */
export function acceptFormBodies(app: FastifyInstance): void {
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => done(null, body));
}

export function parseFormText(text: string): FormParams {
  const params: FormParams = Object.create(null) as FormParams;
  for (const [name, value] of new URLSearchParams(text)) {
    if (name in params) throw new OAuthError('invalid_request', `${name.slice(0, 50)} is given more than once`);
    params[name] = value;
  }
  return params;
}

export function readForm(request: FastifyRequest): FormParams {
  if (!String(request.headers['content-type'] ?? '').startsWith(FORM) || typeof request.body !== 'string') {
    throw new OAuthError('invalid_request', `The request body must be ${FORM}`);
  }
  return parseFormText(request.body);
}

export function readClientCredentials(request: FastifyRequest, params: FormParams): ClientCredentials | undefined {
  const header = request.headers.authorization;
  const basic = header?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i);
  if (header && !basic) throw new OAuthError('invalid_client', 'Unsupported Authorization scheme: use Basic');
  if (basic) {
    if (params.client_secret !== undefined) throw new OAuthError('invalid_request', 'Send client credentials one way, not both');
    const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_client', 'Malformed Basic credentials');
    const id = formDecode(decoded.slice(0, colon));
    const secret = formDecode(decoded.slice(colon + 1));
    if (params.client_id && params.client_id !== id) throw new OAuthError('invalid_request', 'client_id does not match the Basic credentials');
    return { id, secret };
  }
  // MedplumClient sends `client_id=` (empty) when it has no client: that is no client.
  if (params.client_id) {
    return { id: params.client_id, ...(params.client_secret !== undefined ? { secret: params.client_secret } : {}) };
  }
  return undefined;
}

/** The client that proved its secret, or invalid_client (401). Unknown, inactive and wrong secret answer alike. */
export async function requireAuthenticatedClient(
  deps: GrantDeps,
  credentials: ClientCredentials | undefined,
): Promise<ClientApplication & { id: string; projectId: string }> {
  if (!credentials || credentials.secret === undefined) {
    throw new OAuthError('invalid_client', 'Client authentication is required (client_secret_basic or client_secret_post)');
  }
  return verifyClientSecret(deps, credentials.id, credentials.secret);
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new OAuthError('invalid_client', 'Malformed Basic credentials');
  }
}
