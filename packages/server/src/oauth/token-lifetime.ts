/**
 * Per-client token lifetimes: `ClientApplication.accessTokenLifetime` and
 * `refreshTokenLifetime`, Medplum's duration strings (`10m`, `4h`, `30d`: a whole number and
 * one unit of s, m, h, d, w, y, as the definition's constraint `^[0-9]+[smhdwy]$` says).
 * Tokens issued to that client (authorization_code, refresh_token, client_credentials) use
 * them; without them the server's defaults apply. Bounds keep a client from asking for an
 * access token that outlives a working day, or a refresh token that lives for years: a value
 * outside them (possible through a FHIR write) is clamped, and an unreadable one ignored.
 */
import type { ClientApplication } from '@medplum/fhirtypes';
import { DEFAULT_REFRESH_LIFETIME_SECONDS } from '../auth/token-set.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400, y: 365 * 86_400 };

export const ACCESS_LIFETIME_BOUNDS = { min: 60, max: 24 * 3600 } as const;
export const REFRESH_LIFETIME_BOUNDS = { min: 60, max: 365 * 86_400 } as const;

export interface TokenLifetimes {
  accessLifetimeSeconds: number;
  refreshLifetimeSeconds: number;
}

/** Seconds of a duration string (`1h` is 3600), or undefined when it is not one. */
export function parseDuration(value: string): number | undefined {
  const match = /^([0-9]{1,9})([smhdwy])$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * (UNIT_SECONDS[match[2] as string] as number);
}

function lifetime(value: string | undefined, bounds: { min: number; max: number }, fallback: number): number {
  const seconds = value === undefined ? undefined : parseDuration(value);
  if (seconds === undefined) return fallback;
  return Math.min(bounds.max, Math.max(bounds.min, seconds));
}

/** The lifetimes of tokens issued to `client` (or to no client: the server's defaults). */
export function clientTokenLifetimes(defaultAccessSeconds: number, client: ClientApplication | undefined): TokenLifetimes {
  return {
    accessLifetimeSeconds: lifetime(client?.accessTokenLifetime, ACCESS_LIFETIME_BOUNDS, defaultAccessSeconds),
    refreshLifetimeSeconds: lifetime(client?.refreshTokenLifetime, REFRESH_LIFETIME_BOUNDS, DEFAULT_REFRESH_LIFETIME_SECONDS),
  };
}
