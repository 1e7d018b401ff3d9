/**
 * The access-policy test matrix's fixture: two projects, and in project A five members with
 * different policies, all made through the server's own services and the admin's FHIR API:
 *   admin        project admin, no policy
 *   patient      profile Patient/alice; Patient?_id=%patient.id, Observation?subject=%patient,
 *                Encounter?subject=%patient (readonly), Practitioner (readonly, all)
 *   readonly     a practitioner; Patient and Observation readonly, no criteria
 *   hidden       a practitioner; Patient hides birthDate, name.family, telecom;
 *                Observation hides value[x] and keeps issued readonly
 *   param        a practitioner; Observation?subject=%patient&category=%cat, Patient?_id=%patient.id
 *                with access[].parameter patient = Patient/bob, cat = "vital-signs"
 * Project B holds its own patient and observations; nothing of it may reach project A's members.
 * Values that must never leak to a member are distinctive strings (SECRET_*), so a test can
 * search the raw response text for them.
 */
import assert from 'node:assert/strict';
import type { AccessPolicy, Encounter, Observation, Patient, Practitioner, ProjectMembership, Resource, User } from '@medplum/fhirtypes';
import { decodeJwt } from 'jose';
import { signAccessToken, type AccessTokenClaims } from '../src/auth/access-token.js';
import { issueTokenForEmail } from '../src/auth/issue-token.js';
import { SYSTEM_PROJECT_ID, systemScope } from '../src/fhir/scope.js';
import { SystemRepository } from '../src/fhir/system-repository.js';
import { createMember, fhirClient, type FhirClient, type TestMember } from './factories.js';
import type { TestServer } from './harness.js';

export type Stored<T extends Resource> = T & { id: string };

export const SECRET_BIRTHDATE = '1961-07-13';
export const SECRET_FAMILY = 'Zyxwarden';
export const SECRET_PHONE = '555-0199-777';
export const SECRET_VALUE = 987.654;

export interface PolicyFixture {
  projectId: string;
  admin: FhirClient;
  adminMember: TestMember;
  patient: FhirClient;
  readonly: FhirClient;
  hidden: FhirClient;
  param: FhirClient;
  /** An admin of project B. */
  other: FhirClient;
  /** The patient member's client with a token carrying these SMART scopes instead. */
  patientWithScope(scope: string): Promise<FhirClient>;
  policies: Record<'patient' | 'readonly' | 'hidden' | 'param', Stored<AccessPolicy>>;
  memberships: Record<'patient' | 'readonly' | 'hidden' | 'param', string>;
  alice: Stored<Patient>;
  bob: Stored<Patient>;
  carol: Stored<Patient>;
  doctor: Stored<Practitioner>;
  /** alice's, bob's and carol's observations; bob's first one is vital-signs, the second laboratory. */
  obsAlice: Stored<Observation>;
  obsAlice2: Stored<Observation>;
  obsBob: Stored<Observation>;
  obsBobLab: Stored<Observation>;
  obsCarol: Stored<Observation>;
  encAlice: Stored<Encounter>;
  encBob: Stored<Encounter>;
  /** Project B's patient and observation. */
  bPatient: Stored<Patient>;
  bObs: Stored<Observation>;
}

const ref = (r: Resource): string => `${r.resourceType}/${r.id}`;

export function observation(subject: Resource, extra: Partial<Observation> = {}): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }], text: 'heart rate' },
    subject: { reference: ref(subject) },
    valueQuantity: { value: SECRET_VALUE, unit: 'bpm' },
    ...extra,
  };
}

async function post<T extends Resource>(client: FhirClient, resource: T): Promise<Stored<T>> {
  const res = await client.post(resource.resourceType, resource);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as Stored<T>;
}

let counter = 0;

/** A member of `projectId` with `profile` and the given policy fields, and a token for it. */
export async function addMember(server: TestServer, projectId: string, profile: Resource, fields: Partial<ProjectMembership>): Promise<{ client: FhirClient; membershipId: string; token: string }> {
  const { deps } = server;
  const system = new SystemRepository(deps);
  const email = `policy-${process.pid}-${++counter}-${deps.random.uuid().slice(0, 8)}@example.com`;
  const user = await system.create<User>(systemScope(SYSTEM_PROJECT_ID), { resourceType: 'User', firstName: 'Policy', lastName: `Member ${counter}`, email });
  const membership = await system.create<ProjectMembership>(systemScope(projectId), {
    resourceType: 'ProjectMembership',
    project: { reference: `Project/${projectId}` },
    user: { reference: `User/${user.id}` },
    profile: { reference: ref(profile) },
    active: true,
    ...fields,
  });
  const issued = await issueTokenForEmail({ ...deps, issuer: deps.config.baseUrl, lifetimeSeconds: 3600 }, email, projectId);
  return { client: fhirClient(server, issued.accessToken), membershipId: membership.id, token: issued.accessToken };
}

export async function createPolicyFixture(server: TestServer): Promise<PolicyFixture> {
  const adminMember = await createMember(server, { admin: true });
  const admin = fhirClient(server, adminMember.token);
  const projectId = adminMember.projectId;
  const secretPatient = { birthDate: SECRET_BIRTHDATE, telecom: [{ system: 'phone' as const, value: SECRET_PHONE }] };
  const alice = await post<Patient>(admin, { resourceType: 'Patient', name: [{ given: ['Alice'], family: SECRET_FAMILY }], ...secretPatient });
  const bob = await post<Patient>(admin, { resourceType: 'Patient', name: [{ given: ['Bob'], family: 'Bobson' }], ...secretPatient });
  const carol = await post<Patient>(admin, { resourceType: 'Patient', name: [{ given: ['Carol'], family: 'Carolsen' }] });
  const doctor = await post<Practitioner>(admin, { resourceType: 'Practitioner', name: [{ given: ['Dora'], family: 'Doctor' }] });
  const vital = { category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }] };
  const lab = { category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }] };
  const obsAlice = await post(admin, observation(alice, { performer: [{ reference: ref(doctor) }], ...vital }));
  const obsAlice2 = await post(admin, observation(alice, { status: 'amended', ...lab }));
  const obsBob = await post(admin, observation(bob, { performer: [{ reference: ref(doctor) }], ...vital }));
  const obsBobLab = await post(admin, observation(bob, lab));
  const obsCarol = await post(admin, observation(carol, vital));
  const encAlice = await post<Encounter>(admin, { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: ref(alice) } });
  const encBob = await post<Encounter>(admin, { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: ref(bob) } });

  const policies = {
    patient: await post<AccessPolicy>(admin, {
      resourceType: 'AccessPolicy',
      name: 'Patient self',
      resource: [
        { resourceType: 'Patient', criteria: 'Patient?_id=%patient.id' },
        { resourceType: 'Observation', criteria: 'Observation?subject=%patient' },
        { resourceType: 'Encounter', criteria: 'Encounter?subject=%patient', readonly: true },
        { resourceType: 'Practitioner', readonly: true },
      ],
    }),
    readonly: await post<AccessPolicy>(admin, {
      resourceType: 'AccessPolicy',
      name: 'Read only',
      resource: [
        { resourceType: 'Patient', readonly: true },
        { resourceType: 'Observation', readonly: true },
      ],
    }),
    hidden: await post<AccessPolicy>(admin, {
      resourceType: 'AccessPolicy',
      name: 'Hidden fields',
      resource: [
        { resourceType: 'Patient', hiddenFields: ['birthDate', 'name.family', 'telecom'] },
        { resourceType: 'Observation', hiddenFields: ['value[x]'], readonlyFields: ['issued'] },
        { resourceType: 'Practitioner' },
      ],
    }),
    param: await post<AccessPolicy>(admin, {
      resourceType: 'AccessPolicy',
      name: 'Parameterised',
      resource: [
        { resourceType: 'Observation', criteria: 'Observation?subject=%patient&category=%cat' },
        { resourceType: 'Patient', criteria: 'Patient?_id=%patient.id' },
      ],
    }),
  };
  const patientM = await addMember(server, projectId, alice, { accessPolicy: { reference: ref(policies.patient) } });
  const readonlyM = await addMember(server, projectId, doctor, { accessPolicy: { reference: ref(policies.readonly) } });
  const hiddenM = await addMember(server, projectId, doctor, { accessPolicy: { reference: ref(policies.hidden) } });
  const paramM = await addMember(server, projectId, doctor, {
    access: [
      {
        policy: { reference: ref(policies.param) },
        parameter: [
          { name: 'patient', valueReference: { reference: ref(bob) } },
          { name: 'cat', valueString: 'vital-signs' },
        ],
      },
    ],
  });

  const otherMember = await createMember(server, { admin: true });
  const other = fhirClient(server, otherMember.token);
  const bPatient = await post<Patient>(other, { resourceType: 'Patient', name: [{ given: ['Bea'], family: 'Otherproject' }] });
  const bObs = await post(other, observation(bPatient, vital));

  return {
    projectId,
    admin,
    adminMember,
    patient: patientM.client,
    readonly: readonlyM.client,
    hidden: hiddenM.client,
    param: paramM.client,
    other,
    async patientWithScope(scope: string) {
      const claims = decodeJwt(patientM.token) as unknown as AccessTokenClaims;
      const token = await signAccessToken({ ...server.deps, issuer: server.deps.config.baseUrl }, { login_id: claims.login_id, project_id: claims.project_id, membership_id: claims.membership_id, sub: claims.sub, profile: claims.profile, scope }, 3600);
      return fhirClient(server, token);
    },
    policies,
    memberships: { patient: patientM.membershipId, readonly: readonlyM.membershipId, hidden: hiddenM.membershipId, param: paramM.membershipId },
    alice,
    bob,
    carol,
    doctor,
    obsAlice,
    obsAlice2,
    obsBob,
    obsBobLab,
    obsCarol,
    encAlice,
    encBob,
    bPatient,
    bObs,
  };
}

/** The ids of a Bundle's entries (matches and includes), sorted. */
export function bundleIds(body: { entry?: Array<{ resource?: { id?: string } }> }): string[] {
  return (body.entry ?? []).flatMap((e) => (e.resource?.id ? [e.resource.id] : [])).sort();
}

/** Asserts that none of `forbidden` appears anywhere in the raw JSON of `body`. */
export function assertAbsent(body: unknown, forbidden: Array<string | number>, what = ''): void {
  const text = JSON.stringify(body);
  for (const f of forbidden) {
    assert.ok(!text.includes(String(f)), `${what}: ${String(f)} must not appear in ${text.slice(0, 400)}`);
  }
}

export function sorted(...ids: string[]): string[] {
  return [...ids].sort();
}
