/**
 * Builds the Fastify instance from its parts; it does not listen (see main.ts) and reads no
 * globals, so tests build as many apps as they like with `app.inject()` or a real port.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { AppDeps } from './deps.js';
import { registerErrorHandlers, sendFrameworkError } from './http/errors.js';
import { registerJsonParsers } from './http/json-body.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { registerWebApp } from './http/web-app.js';
import { fhirRoutes } from './fhir/routes.js';
import { loadDefinitions } from './fhir/definitions.js';
import { SERVER_VERSION } from './version.js';
import { authRoutes } from './auth/auth-routes.js';
import { mfaRoutes } from './auth/mfa-routes.js';
import { passwordRoutes } from './auth/password-routes.js';
import { LoginThrottle, scheduleThrottleCleanup, throttleSettingsFrom } from './auth/throttle.js';
import { tokenRoutes } from './oauth/token-route.js';
import { logoutRoutes } from './oauth/logout-route.js';
import { oauthRoutes } from './oauth/oauth-routes.js';
import { discoveryRoutes } from './oauth/discovery-routes.js';
import { adminRoutes } from './admin/admin-routes.js';
import { ADMIN_PARTS } from './admin/parts.js';
import { settleAuditWrites } from './audit/sign-in-audit.js';

export interface BuildAppOptions {
  /** Fastify's logger: false in tests, pino options in main. */
  logger?: boolean | { level: string };
  /** The built web app's folder (default: packages/app/dist). */
  webAppDir?: string;
}

export async function buildApp(deps: AppDeps, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  loadDefinitions();
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: deps.config.bodyLimitBytes,
    // Ids in URLs are at most 64 characters; anything far longer is not a FHIR URL.
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: () => deps.random.uuid(),
    frameworkErrors: sendFrameworkError,
    // The client address (sign-in throttling, Login.remoteAddress) from X-Forwarded-For only behind the configured proxies.
    ...(deps.config.trustProxy !== undefined ? { trustProxy: deps.config.trustProxy } : {}),
  });
  registerErrorHandlers(app);
  registerJsonParsers(app, deps.config.jsonMaxDepth);
  registerSecurityHeaders(app, deps.config.baseUrl);

  const store = deps.store;
  const issuer = deps.config.baseUrl;

  app.get('/healthz', async (_request, reply) => {
    await deps.db.query('SELECT 1');
    const health = { ok: true, version: SERVER_VERSION, database: deps.db.kind };
    if (!deps.redis) return reply.send(health);
    // Sign-ins fail closed without Redis (throttle-redis.ts): an instance that cannot reach it is not healthy.
    const redis = await deps.redis.ping().then(() => 'ok', () => 'unreachable');
    return reply.status(redis === 'ok' ? 200 : 503).send({ ...health, ok: redis === 'ok', redis });
  });

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('Content-Type', 'application/json').send(deps.keys.jwks());
  });

  await app.register(fhirRoutes, {
    prefix: '/fhir/R4',
    deps: { db: deps.db, store, clock: deps.clock, random: deps.random, keys: deps.keys, issuer },
    baseUrl: deps.config.baseUrl,
    version: SERVER_VERSION,
    bundleMaxEntries: deps.config.bundleMaxEntries,
  });

  // Failed sign-ins are audited just after their answer (src/audit/sign-in-audit.ts): wait for those writes before the database closes.
  app.addHook('onClose', async () => settleAuditWrites(deps.db));

  const throttle = new LoginThrottle(deps, throttleSettingsFrom(deps.config));
  scheduleThrottleCleanup(app, throttle);
  const authDeps = { db: deps.db, store, clock: deps.clock, random: deps.random, keys: deps.keys, issuer, hasher: deps.hasher, throttle };
  await app.register(authRoutes, { prefix: '/auth', deps: authDeps, registration: deps.config.registration });
  await app.register(passwordRoutes, {
    prefix: '/auth',
    deps: { ...authDeps, baseUrl: deps.config.baseUrl, mailer: deps.mailer },
    resetLinkLifetimeSeconds: deps.config.resetLinkLifetimeSeconds,
  });
  await app.register(mfaRoutes, { prefix: '/auth/mfa', deps: authDeps });
  const grantDeps = { ...authDeps, accessLifetimeSeconds: deps.config.accessTokenLifetimeSeconds };
  await app.register(tokenRoutes, { prefix: '/oauth2', deps: grantDeps });
  await app.register(logoutRoutes, { prefix: '/oauth2', deps: grantDeps });
  await app.register(oauthRoutes, { prefix: '/oauth2', deps: grantDeps });
  await app.register(discoveryRoutes, { issuer });
  await app.register(adminRoutes, {
    prefix: '/admin',
    deps: {
      ...authDeps,
      mailer: deps.mailer,
      baseUrl: deps.config.baseUrl,
      inviteLinkLifetimeSeconds: deps.config.inviteLinkLifetimeSeconds,
    },
    parts: ADMIN_PARTS,
  });

  // The web app at `/` and its pages (SPA fallback for unmatched browser GETs); the service's
  // own information is at /healthz and /fhir/R4/metadata.
  registerWebApp(app, options.webAppDir !== undefined ? { dir: options.webAppDir } : {});

  return app;
}
