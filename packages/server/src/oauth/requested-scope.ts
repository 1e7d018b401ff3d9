/**
 * The scopes a client may ask for at `/oauth2/authorize` and with `client_credentials`, checked
 * strictly (security-notes: scope parsing must be strict and canonical): every word must be
 * one the server implements, resource scopes must be well-formed SMART v1/v2 scopes naming a
 * known type or `*`, and query-filtered scopes are refused rather than silently widened.
 */
import { OAuthError } from '../auth/auth-errors.js';
import { parseResourceScope } from '../auth/smart-scopes.js';
import { isKnownResourceType } from '../fhir/definitions.js';

/** Identity and context scopes the server implements. `offline` is Medplum's older spelling. */
export const SUPPORTED_SCOPES = ['openid', 'profile', 'email', 'fhirUser', 'offline_access', 'offline', 'launch/patient'] as const;

/** What the discovery documents list: the words above plus examples of the resource scope forms. */
export const ADVERTISED_SCOPES = ['openid', 'profile', 'email', 'fhirUser', 'offline_access', 'launch/patient', 'user/*.cruds', 'patient/*.rs', 'system/*.rs', 'user/*.*', 'user/*.read'];

const SUPPORTED = new Set<string>(SUPPORTED_SCOPES);
const MAX_SCOPE_LENGTH = 2000;

/** The requested scope with duplicates removed, or invalid_scope naming the first word refused. */
export function checkRequestedScope(scope: string): string {
  if (scope.length > MAX_SCOPE_LENGTH) throw new OAuthError('invalid_scope', 'scope is too long');
  const words = [...new Set(scope.split(' ').filter((w) => w.length > 0))];
  if (words.length === 0) throw new OAuthError('invalid_scope', 'scope is empty');
  for (const word of words) {
    if (SUPPORTED.has(word)) continue;
    const resource = parseResourceScope(word);
    if (!resource) throw new OAuthError('invalid_scope', `Unsupported scope "${word.slice(0, 100)}"`);
    if (resource.filter !== undefined) throw new OAuthError('invalid_scope', `Scopes with a query filter are not supported: "${word.slice(0, 100)}"`);
    if (resource.resourceType !== '*' && !isKnownResourceType(resource.resourceType)) {
      throw new OAuthError('invalid_scope', `Unknown resource type in scope "${word.slice(0, 100)}"`);
    }
  }
  return words.join(' ');
}
