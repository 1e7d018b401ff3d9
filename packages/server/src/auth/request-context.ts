/**
 * Who is asking, resolved once per request by `authenticate` and passed explicitly to every
 * service. A route never reaches storage except through a Repository bound to one of these.
 */
import type { Login, ProjectMembership, Reference } from '@medplum/fhirtypes';
import type { MemberPolicy, PatientNarrowing } from '../fhir/access-policy/member-policy.js';
import type { ParsedScopes } from './smart-scopes.js';

export interface RequestContext {
  /** The project (tenant) the request acts in: the membership's project. */
  readonly projectId: string;
  readonly membership: ProjectMembership & { id: string };
  readonly login: Login & { id: string };
  /** The membership's profile (Practitioner/..., Patient/..., ClientApplication/...). */
  readonly profile: Reference;
  /** Reference to the User, ClientApplication or Bot acting. */
  readonly author: Reference;
  /** A project admin of this project. */
  readonly admin: boolean;
  /** A member of a project with `superAdmin: true`, itself an admin there. */
  readonly superAdmin: boolean;
  /**
   * The token's SMART scopes (smart-scopes.ts). With at least one resource scope they narrow
   * the FHIR interactions allowed; absent (a context made without a token) narrows nothing.
   */
  readonly scopes?: ParsedScopes;
  /**
   * The membership's effective access policy (src/fhir/access-policy/): its AccessPolicy
   * entries, parsed, with the member's parameters substituted. Absent: the membership names
   * no policy, and the member reaches every type its role allows (docs/SECURITY.md).
   */
  readonly policy?: MemberPolicy;
  /**
   * Set when the token carries SMART `patient/` scopes (smart-scopes.ts `patientNarrowingOf`):
   * what they narrow to the launch patient's compartment, on top of `policy`.
   */
  readonly patientNarrowing?: PatientNarrowing;
}
