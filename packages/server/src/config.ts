/**
 * Configuration: environment variables turned into one typed, validated object.
 * This is the only module that reads `process.env`; everything else receives a `Config`.
 * Every problem is reported together, at start, rather than the first one at first use.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseSender } from './email/mailer.js';

const positiveInt = z.coerce.number().int().positive();

const envSchema = z.object({
  PORT: positiveInt.max(65535).default(8103),
  HOST: z.string().min(1).default('localhost'),
  BASE_URL: z.url().optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  DATABASE_POOL_SIZE: positiveInt.max(1000).default(10),
  ADMIN_EMAIL: z.email().optional(),
  ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  BODY_LIMIT_BYTES: positiveInt.default(16 * 1024 * 1024),
  JSON_MAX_DEPTH: positiveInt.max(1000).default(64),
  ACCESS_TOKEN_LIFETIME_SECONDS: positiveInt.default(3600),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REGISTRATION: z.enum(['open', 'closed']).default('open'),
  // --- Email (src/email): SMTP when SMTP_URL is set, else the database outbox.
  SMTP_URL: z.url({ protocol: /^smtps?$/, hostname: /^.+$/, error: 'must be an smtp:// or smtps:// URL with a host' }).optional(),
  EMAIL_FROM: z
    .string()
    .refine((v) => parseSender(v) !== undefined, 'must be an address, optionally named: Tessera <no-reply@example.com>')
    .default('Tessera <no-reply@localhost>'),
  // --- end Email
  // --- Sign-in throttling and set-password links (src/auth/throttle.ts, security-requests.ts)
  AUTH_MAX_FAILURES: positiveInt.max(100, 'must be at most 100 (ASVS 2.2.1)').default(20),
  AUTH_IP_MAX_FAILURES: positiveInt.max(100000).default(20),
  AUTH_THROTTLE_WINDOW_SECONDS: positiveInt.default(3600),
  AUTH_LOCK_SECONDS: positiveInt.default(60),
  AUTH_MAX_LOCK_SECONDS: positiveInt.default(900),
  RESET_LINK_LIFETIME_SECONDS: positiveInt.default(3600),
  INVITE_LINK_LIFETIME_SECONDS: positiveInt.default(7 * 24 * 3600),
  // The proxies whose X-Forwarded-For is believed: addresses or CIDRs, separated by commas.
  TRUST_PROXY: z.string().regex(/^[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*$/, 'must be a list of addresses or CIDRs, separated by commas').optional(),
  // --- end Sign-in throttling
  // --- Redis (src/open-deps.ts): the sign-in throttle's counters when set, else the database.
  REDIS_URL: z.url({ protocol: /^rediss?$/, hostname: /^.+$/, error: 'must be a redis:// or rediss:// URL with a host' }).optional(),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'must be 1 to 64 letters, digits or : _ . -')
    .default('tessera:'),
  // --- end Redis
  // --- Bundles (src/fhir/bundle): the most entries one batch or transaction may have.
  BUNDLE_MAX_ENTRIES: positiveInt.max(100000).default(5000),
  // --- end Bundles
});

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Always ends with a slash, e.g. `http://localhost:8103/`. */
  readonly baseUrl: string;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly databasePoolSize: number;
  readonly adminEmail: string | undefined;
  readonly adminPassword: string | undefined;
  readonly bodyLimitBytes: number;
  readonly jsonMaxDepth: number;
  readonly accessTokenLifetimeSeconds: number;
  readonly logLevel: string;
  /** `closed` turns off `POST /auth/newuser` (self-registration). */
  readonly registration: 'open' | 'closed';
  // --- Email (src/email)
  /** Holds the SMTP password when there is one: never log it. */
  readonly smtpUrl: string | undefined;
  readonly emailFrom: string;
  // --- end Email
  // --- Sign-in throttling and set-password links (src/auth/throttle.ts, security-requests.ts)
  /** Failed password checks on one email before it is locked (429), whether or not the account exists. */
  readonly authMaxFailures: number;
  /** Failed password checks from one client address before it is locked. */
  readonly authIpMaxFailures: number;
  /** A throttled key with no attempt for this long starts from zero. */
  readonly authThrottleWindowSeconds: number;
  /** The first lock; each next one lasts twice as long, up to `authMaxLockSeconds`. */
  readonly authLockSeconds: number;
  readonly authMaxLockSeconds: number;
  readonly resetLinkLifetimeSeconds: number;
  readonly inviteLinkLifetimeSeconds: number;
  /** Fastify's `trustProxy`: without it the client address is the socket's (the proxy's, behind one). */
  readonly trustProxy: string[] | undefined;
  // --- end Sign-in throttling
  // --- Redis (src/open-deps.ts)
  /** Holds the Redis password when there is one: never log it. Unset: the throttle counts in the database. */
  readonly redisUrl: string | undefined;
  /** Begins every key Tessera writes, so several deployments (or test runs) can share one Redis. */
  readonly redisKeyPrefix: string;
  // --- end Redis
  // --- Bundles (src/fhir/bundle)
  /** The most entries one batch or transaction Bundle may have (413 beyond). */
  readonly bundleMaxEntries: number;
  // --- end Bundles
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Builds the config from an environment (by default the process's own). Empty strings count as unset. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.ADMIN_PASSWORD && !e.ADMIN_EMAIL) {
    problems.push('ADMIN_PASSWORD: set ADMIN_EMAIL too');
  }
  if (e.AUTH_LOCK_SECONDS > e.AUTH_MAX_LOCK_SECONDS) {
    problems.push('AUTH_LOCK_SECONDS: must not exceed AUTH_MAX_LOCK_SECONDS');
  }
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  const baseUrl = e.BASE_URL ?? `http://localhost:${e.PORT}/`;
  return {
    port: e.PORT,
    host: e.HOST,
    baseUrl: baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`,
    dataDir: resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    adminEmail: e.ADMIN_EMAIL?.toLowerCase(),
    adminPassword: e.ADMIN_PASSWORD,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    jsonMaxDepth: e.JSON_MAX_DEPTH,
    accessTokenLifetimeSeconds: e.ACCESS_TOKEN_LIFETIME_SECONDS,
    logLevel: e.LOG_LEVEL,
    registration: e.REGISTRATION,
    smtpUrl: e.SMTP_URL,
    emailFrom: e.EMAIL_FROM,
    authMaxFailures: e.AUTH_MAX_FAILURES,
    authIpMaxFailures: e.AUTH_IP_MAX_FAILURES,
    authThrottleWindowSeconds: e.AUTH_THROTTLE_WINDOW_SECONDS,
    authLockSeconds: e.AUTH_LOCK_SECONDS,
    authMaxLockSeconds: e.AUTH_MAX_LOCK_SECONDS,
    resetLinkLifetimeSeconds: e.RESET_LINK_LIFETIME_SECONDS,
    inviteLinkLifetimeSeconds: e.INVITE_LINK_LIFETIME_SECONDS,
    trustProxy: e.TRUST_PROXY?.split(',').map((v) => v.trim()),
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    bundleMaxEntries: e.BUNDLE_MAX_ENTRIES,
  };
}
