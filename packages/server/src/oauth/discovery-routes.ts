/**
 * Discovery documents, each claiming only what the server does:
 *  - `/.well-known/openid-configuration` (OIDC Discovery 1.0 section 3) and the same metadata
 *    at `/.well-known/oauth-authorization-server` (RFC 8414);
 *  - `/fhir/R4/.well-known/smart-configuration` (SMART App Launch 2, conformance.md).
 * Both are public, JSON whatever the Accept header says, and open to any origin (SMART: CORS).
 * Not claimed, because not built: EHR launch and its contexts (a `patient/` scope's patient is
 * the member's own Patient profile, not a launch choice), asymmetric client authentication, dynamic client
 * registration, RP-initiated logout, request objects.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { SIGNING_ALG } from '../auth/key-store.js';
import { ADVERTISED_SCOPES } from './requested-scope.js';
import { GRANT_TYPES } from './token-route.js';

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];

export function authorizationServerMetadata(issuer: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}oauth2/authorize`,
    token_endpoint: `${issuer}oauth2/token`,
    userinfo_endpoint: `${issuer}oauth2/userinfo`,
    jwks_uri: `${issuer}.well-known/jwks.json`,
    revocation_endpoint: `${issuer}oauth2/revoke`,
    introspection_endpoint: `${issuer}oauth2/introspect`,
    scopes_supported: ADVERTISED_SCOPES,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: GRANT_TYPES,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [SIGNING_ALG],
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    // A public client revokes its own tokens by naming its client_id (`none`).
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'none'],
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    code_challenge_methods_supported: ['S256'],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'name', 'given_name', 'family_name', 'email', 'email_verified', 'fhirUser'],
    // RFC 9207: the authorization response names its issuer.
    authorization_response_iss_parameter_supported: true,
    // OIDC Discovery defaults request_uri_parameter_supported to true: say it is not.
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    claims_parameter_supported: false,
  };
}

export function smartConfiguration(issuer: string): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: `${issuer}.well-known/jwks.json`,
    authorization_endpoint: `${issuer}oauth2/authorize`,
    token_endpoint: `${issuer}oauth2/token`,
    userinfo_endpoint: `${issuer}oauth2/userinfo`,
    introspection_endpoint: `${issuer}oauth2/introspect`,
    revocation_endpoint: `${issuer}oauth2/revoke`,
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    grant_types_supported: GRANT_TYPES,
    scopes_supported: ADVERTISED_SCOPES,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      'launch-standalone',
      'authorize-post',
      'client-public',
      'client-confidential-symmetric',
      'sso-openid-connect',
      'permission-offline',
      // patient/ scopes are narrowed to the patient's compartment (policy-sql.ts).
      'permission-patient',
      'permission-user',
      'permission-v1',
      'permission-v2',
    ],
  };
}

function sendDocument(reply: FastifyReply, document: Record<string, unknown>): void {
  reply.header('Access-Control-Allow-Origin', '*').type('application/json; charset=utf-8').send(document);
}

export async function discoveryRoutes(app: FastifyInstance, options: { issuer: string }): Promise<void> {
  const metadata = authorizationServerMetadata(options.issuer);
  const smart = smartConfiguration(options.issuer);
  app.get('/.well-known/openid-configuration', async (_request, reply) => sendDocument(reply, metadata));
  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => sendDocument(reply, metadata));
  app.get('/fhir/R4/.well-known/smart-configuration', async (_request, reply) => sendDocument(reply, smart));
}
