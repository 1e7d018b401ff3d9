/**
 * Checking an authorization request (RFC 6749 section 4.1.1, OIDC Core 3.1.2.1, SMART App
 * Launch "authorize request"), in the order the RFC requires: first the client and its
 * redirect URI, whose failures are shown to the user and never redirected (section 4.1.2.1,
 * so the endpoint is no open redirector); then everything else, whose failures go back to
 * the validated redirect URI as `error`, `error_description`, `state` and `iss` (RFC 9207).
 */
import type { ClientApplication } from '@medplum/fhirtypes';
import { OAuthError } from '../auth/auth-errors.js';
import { isValidCodeChallenge } from '../auth/pkce.js';
import { serverScope, type GrantDeps } from './grant-context.js';
import { isRegisteredRedirectUri } from './redirect-uri.js';
import { checkRequestedScope } from './requested-scope.js';

/** The parameters an authorization request may carry that the server keeps. */
const KEPT = ['client_id', 'redirect_uri', 'response_type', 'response_mode', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method', 'aud', 'prompt', 'login_hint'];
const MAX_STATE_LENGTH = 2048;

export interface AuthorizeRequest {
  client: ClientApplication & { id: string; projectId: string };
  redirectUri: string;
  scope: string;
  state?: string;
  nonce?: string;
  codeChallenge?: string;
  /** `login_hint` when it looks like an email: only ever a pre-filled, editable field. */
  loginHint?: string;
  /** The kept parameters, to carry through the sign-in form. */
  params: Record<string, string>;
}

/** The parameters a failure can name, so a JSON caller (`/auth/login`) can point at its own field. */
export type AuthorizeParam = 'client_id' | 'redirect_uri' | 'scope' | 'nonce' | 'code_challenge' | 'code_challenge_method' | 'state' | 'request';

/** A failure shown on a plain page: the redirect URI cannot be trusted (or is not known yet). */
export class AuthorizePageError extends Error {
  constructor(
    message: string,
    readonly status = 400,
    readonly param?: AuthorizeParam,
  ) {
    super(message);
    this.name = 'AuthorizePageError';
  }
}

/** A failure sent back to the client at its validated redirect URI. */
export class AuthorizeRedirectError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly redirectUri: string,
    readonly state: string | undefined,
    readonly param: AuthorizeParam = 'request',
  ) {
    super(description);
    this.name = 'AuthorizeRedirectError';
  }
}

/** What the check reads: the client (through the store) and the issuer (for `aud`). */
export type AuthorizeCheckDeps = Pick<GrantDeps, 'store' | 'issuer'>;

/** The active client with this id, or undefined for an unknown, deleted or inactive one. */
async function activeClient(deps: AuthorizeCheckDeps, clientId: string): Promise<AuthorizeRequest['client'] | undefined> {
  // As client-auth.ts findClientApplication, which wants the token endpoint's deps: `/auth/login` checks with fewer.
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(clientId)) return undefined;
  const found = await deps.store.locate(serverScope, 'ClientApplication', clientId);
  if (!found || found.deleted) return undefined;
  const client = { ...(found.resource as ClientApplication & { id: string }), projectId: found.projectId };
  return client.status === undefined || client.status === 'active' ? client : undefined;
}

export async function checkAuthorizeRequest(deps: AuthorizeCheckDeps, params: Record<string, string>): Promise<AuthorizeRequest> {
  const client = params.client_id ? await activeClient(deps, params.client_id) : undefined;
  if (!client) throw new AuthorizePageError('Client not found: the application that sent you here is not registered on this server.', 400, 'client_id');
  const redirectUri = params.redirect_uri;
  if (!redirectUri || !isRegisteredRedirectUri(client, redirectUri)) {
    throw new AuthorizePageError('Incorrect redirect_uri: it does not match any registered for this application.', 400, 'redirect_uri');
  }
  const state = params.state !== undefined && params.state.length <= MAX_STATE_LENGTH ? params.state : undefined;
  const fail = (error: string, description: string, param?: AuthorizeParam): never => {
    throw new AuthorizeRedirectError(error, description, redirectUri, state, param);
  };
  if (params.state !== undefined && state === undefined) fail('invalid_request', 'state is too long', 'state');
  if (params.request !== undefined) fail('request_not_supported', 'Request objects are not supported');
  if (params.request_uri !== undefined) fail('request_uri_not_supported', 'request_uri is not supported');
  if (!params.response_type) fail('invalid_request', 'Missing response_type');
  if (params.response_type !== 'code') fail('unsupported_response_type', 'Only response_type=code is supported');
  if (params.response_mode !== undefined && params.response_mode !== 'query') fail('invalid_request', 'Only response_mode=query is supported');
  if (params.launch !== undefined) fail('invalid_request', 'EHR launch is not supported');
  if (params.aud !== undefined && !namesOurFhirBase(deps.issuer, params.aud)) fail('invalid_request', 'aud does not name this server\'s FHIR endpoint');
  if (params.prompt?.split(' ').includes('none')) fail('login_required', 'The user must sign in: this server keeps no sign-in session');
  if (!params.scope) fail('invalid_request', 'Missing scope', 'scope');
  let scope = '';
  try {
    scope = checkRequestedScope(params.scope as string);
  } catch (err) {
    if (err instanceof OAuthError) fail(err.error, err.description, 'scope');
    throw err;
  }
  if (params.nonce !== undefined && (params.nonce.length === 0 || params.nonce.length > 256)) fail('invalid_request', 'nonce must be 1 to 256 characters', 'nonce');
  const codeChallenge = checkPkce(client, params, fail);
  const loginHint = loginHintEmail(params.login_hint);
  // Only a usable hint travels on (to the web app's page, into the form token); any other is dropped.
  const kept = Object.fromEntries(KEPT.filter((k) => params[k] !== undefined && k !== 'login_hint').map((k) => [k, params[k] as string]));
  if (loginHint) kept.login_hint = loginHint;
  return {
    client,
    redirectUri,
    scope,
    ...(state !== undefined ? { state } : {}),
    ...(params.nonce !== undefined ? { nonce: params.nonce } : {}),
    ...(codeChallenge ? { codeChallenge } : {}),
    ...(loginHint ? { loginHint } : {}),
    params: kept,
  };
}

/** WHATWG HTML's "valid email address", the syntax `<input type=email>` accepts. */
const VALID_EMAIL = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/**
 * A `login_hint` (OIDC Core 3.1.2.1) our sign-in form can show: a valid email address of at
 * most 254 characters (RFC 5321's path limit), else nothing (a phone number or a `sub` is not
 * our login name). Anyone can put anything in the hint, so it only pre-fills a field the user
 * can change: it never chooses an account or skips a step. The web app's `/oauth` page applies
 * the same rule (packages/app/src/account/oauth-request.ts).
 */
export function loginHintEmail(hint: string | undefined): string | undefined {
  const email = hint?.trim() ?? '';
  return email.length <= 254 && VALID_EMAIL.test(email) ? email : undefined;
}

/**
 * PKCE (RFC 7636; SMART: S256 SHALL, plain SHALL NOT): required unless the client is
 * confidential and registered `pkceOptional`. A challenge without a method is `plain` by the
 * RFC's default, so it is refused too.
 */
function checkPkce(client: ClientApplication, params: Record<string, string>, fail: (error: string, description: string, param: AuthorizeParam) => never): string | undefined {
  const challenge = params.code_challenge;
  const method = params.code_challenge_method;
  if (method !== undefined && method !== 'S256') fail('invalid_request', 'Only code_challenge_method=S256 is supported', 'code_challenge_method');
  if (challenge !== undefined && method === undefined) fail('invalid_request', 'code_challenge_method is required (S256)', 'code_challenge_method');
  if (challenge === undefined && method !== undefined) fail('invalid_request', 'code_challenge is required with code_challenge_method', 'code_challenge');
  if (challenge !== undefined && !isValidCodeChallenge(challenge)) fail('invalid_request', 'code_challenge must be a base64url SHA-256 (43 characters)', 'code_challenge');
  if (challenge === undefined && !(client.secret && client.pkceOptional === true)) {
    fail('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256', 'code_challenge');
  }
  return challenge;
}

/** SMART's `aud`: this server's FHIR base URL, with or without a trailing slash. */
function namesOurFhirBase(issuer: string, aud: string): boolean {
  const base = `${issuer}fhir/R4`;
  return aud === base || aud === `${base}/`;
}

/** Where the browser goes next: the redirect URI with the response added (its own query kept). */
export function buildRedirect(redirectUri: string, issuer: string, response: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(response)) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  url.searchParams.set('iss', issuer);
  return url.toString();
}
