/**
 * `AccessPolicy.ipAccessRule[]` (Medplum's `checkIpAccessRules`): the membership's rules, in
 * order over its policies; the first whose value matches the client's address decides
 * (`allow` or `block`); no rule matching allows. Checked at sign-in when the Login's membership
 * is set (src/auth/login-flow.ts `issueCode`, as Medplum's `setLoginMembership`), on every
 * authenticated request (src/auth/authenticate.ts) and whenever the token endpoint issues tokens
 * for a membership (src/oauth/grants/*), so a blocked address can neither sign in, nor use or
 * obtain a token.
 *
 * A value matches when it is `*`, the address itself, or a prefix of it that ends at a
 * separator: `10.0.` and `10.0` match `10.0.3.4`, `10.0.3.4` does not match `10.0.3.45`, and
 * `10.1` does not match `10.10.0.1` (Medplum's plain `startsWith` would). Addresses are
 * compared in the form people write: an IPv4-mapped IPv6 address (`::ffff:10.0.3.4`, what a
 * dual-stack socket reports for an IPv4 client) as its IPv4 address, IPv6 in lower case.
 * CIDR notation is not understood (such a value matches nothing).
 *
 * The address is Fastify's `request.ip`: the socket's peer, or the client named by
 * `X-Forwarded-For` only when the peer is a trusted proxy (`TRUST_PROXY`, src/config.ts).
 */
import type { AccessPolicy, ProjectMembership } from '@medplum/fhirtypes';
import { OAuthError } from '../../auth/auth-errors.js';
import type { Queryable } from '../../db/database.js';
import { forbidden } from '../outcomes.js';
import type { ResourceStore } from '../resource-store.js';
import { systemScope } from '../scope.js';
import { buildMemberPolicy, policyIdsOf } from './load-policy.js';
import type { IpAccessRule, MemberPolicy } from './member-policy.js';

export const IP_NOT_ALLOWED = 'IP address not allowed';

/** `::ffff:10.0.3.4` -> `10.0.3.4`; IPv6 lower-cased; surrounding space removed. */
export function normalizeAddress(address: string): string {
  const lower = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){0,3}\.?)$/.exec(lower);
  return mapped ? (mapped[1] as string) : lower;
}

function ruleMatches(value: string, address: string): boolean {
  const rule = normalizeAddress(value);
  if (rule === '*' || rule === address) return true;
  if (rule === '' || !address.startsWith(rule)) return false;
  // A prefix ends at a separator, its own last character or the address's next one.
  return /[.:]$/.test(rule) || /^[.:]/.test(address.slice(rule.length));
}

/** The rule that decides for this address, or undefined when none matches (allowed). */
export function decidingRule(rules: readonly IpAccessRule[], address: string | undefined): IpAccessRule | undefined {
  const normalized = normalizeAddress(address ?? '');
  return rules.find((rule) => ruleMatches(rule.value, normalized));
}

export function ipAllowed(rules: readonly IpAccessRule[], address: string | undefined): boolean {
  return decidingRule(rules, address)?.action !== 'block';
}

/** On a FHIR, admin or auth request: a blocked address gets a 403 OperationOutcome. */
export function assertIpAllowed(policy: MemberPolicy | undefined, address: string | undefined): void {
  if (policy && !ipAllowed(policy.ipAccessRules, address)) {
    throw forbidden(IP_NOT_ALLOWED);
  }
}

/**
 * The rules of a membership, read from the AccessPolicy resources it names (in `tx`, the
 * grant's transaction): what the token endpoint checks before issuing a token.
 */
export async function membershipIpRules(store: ResourceStore, tx: Queryable, projectId: string, membership: ProjectMembership): Promise<readonly IpAccessRule[]> {
  const scope = systemScope(projectId);
  const policies: Array<AccessPolicy & { id: string }> = [];
  for (const id of new Set(policyIdsOf(membership))) {
    const row = await store.readCurrent(scope, 'AccessPolicy', id, tx);
    if (row && !row.deleted && row.resource) policies.push(row.resource as AccessPolicy & { id: string });
  }
  return buildMemberPolicy(projectId, membership, policies)?.ipAccessRules ?? [];
}

/**
 * At the token endpoint, before tokens are issued for `membership`: a blocked address gets
 * RFC 6749 `invalid_grant` (400; section 5.2 has no `access_denied` for this endpoint).
 */
export async function assertGrantIpAllowed(store: ResourceStore, tx: Queryable, projectId: string, membership: ProjectMembership, address: string | undefined): Promise<void> {
  if (!ipAllowed(await membershipIpRules(store, tx, projectId, membership), address)) {
    throw new OAuthError('invalid_grant', IP_NOT_ALLOWED);
  }
}

/**
 * At sign-in, before a Login gets its membership and a code: whether every address given (where
 * the sign-in started, and where this step comes from) is allowed. With no address known, the
 * check is made for an unknown one (which only a `*` rule matches), as authenticate.ts does.
 * The caller (auth/login-flow.ts `issueCode`) refuses with Medplum's answer, a 400
 * OperationOutcome `IP address not allowed`, and records the refusal.
 */
export async function signInIpAllowed(store: ResourceStore, tx: Queryable, projectId: string, membership: ProjectMembership, addresses: ReadonlyArray<string | undefined>): Promise<boolean> {
  const rules = await membershipIpRules(store, tx, projectId, membership);
  const known = addresses.filter((a): a is string => Boolean(a));
  return (known.length > 0 ? known : [undefined]).every((address) => ipAllowed(rules, address));
}
