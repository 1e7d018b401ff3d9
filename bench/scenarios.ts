/**
 * The scenarios: what one request of each looks like. Tessera and the floor get the very
 * same requests (same paths, headers and bodies; the floor ignores the Authorization header),
 * so any difference in speed is the servers' own.
 */
import type { Patient } from '@medplum/fhirtypes';
import type { LoadRequest } from './load.js';

export interface ScenarioContext {
  token: string;
  /** The next seeded Patient id, round-robin, so reads do not hit one row only. */
  nextId(): string;
}

export interface Scenario {
  /** The name `--scenarios` takes. */
  key: string;
  title: string;
  /** Tessera req/s over floor req/s the project aims for. */
  aimRatio: number;
  request(ctx: ScenarioContext): LoadRequest;
}

/** A typical small Patient: a few of the elements most records carry. */
export const BENCH_PATIENT: Patient = {
  resourceType: 'Patient',
  active: true,
  identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.1', value: '123-45-6789' }],
  name: [{ use: 'official', family: 'Lovelace', given: ['Ada', 'Augusta'] }],
  telecom: [
    { system: 'phone', value: '+1 555 0100', use: 'home' },
    { system: 'email', value: 'ada@example.com' },
  ],
  gender: 'female',
  birthDate: '1985-12-10',
  address: [{ use: 'home', line: ['12 St James Square'], city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' }],
};

export const SCENARIOS: Scenario[] = [
  {
    key: 'read',
    title: 'Read a Patient by id (GET /fhir/R4/Patient/:id)',
    aimRatio: 0.7,
    request: (ctx) => ({
      method: 'GET',
      headers: { authorization: `Bearer ${ctx.token}`, accept: 'application/fhir+json' },
      nextPath: () => `/fhir/R4/Patient/${ctx.nextId()}`,
    }),
  },
  {
    key: 'create',
    title: 'Create a Patient (POST /fhir/R4/Patient)',
    aimRatio: 0.5,
    request: (ctx) => {
      const body = JSON.stringify(BENCH_PATIENT);
      return {
        method: 'POST',
        headers: { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
        body,
        nextPath: () => '/fhir/R4/Patient',
      };
    },
  },
];
