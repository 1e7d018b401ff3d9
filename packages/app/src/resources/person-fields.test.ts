// @vitest-environment node
import type { Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { applyValues, valuesOf } from './person-fields';

describe('person fields', () => {
  const patient: Patient = {
    resourceType: 'Patient',
    id: 'p1',
    identifier: [{ system: 'urn:mrn', value: '42' }],
    name: [{ use: 'official', given: ['Pat'], family: 'Patient', text: 'Pat Patient' }, { use: 'nickname', given: ['P'] }],
    telecom: [
      { system: 'email', value: 'pat@example.com' },
      { system: 'fax', value: '123' },
    ],
    gender: 'female',
  };

  it('reads the fields the form shows', () => {
    expect(valuesOf(patient)).toEqual({ given: 'Pat', family: 'Patient', email: 'pat@example.com', phone: '', birthDate: '', gender: 'female' });
  });

  it('writes them back and keeps everything else (other names, other contacts, identifiers)', () => {
    const next = applyValues(patient, { given: 'Patricia  Ann', family: 'Patient', email: '', phone: '555-0100', birthDate: '1990-04-02', gender: '' });
    expect(next).toEqual({
      resourceType: 'Patient',
      id: 'p1',
      identifier: [{ system: 'urn:mrn', value: '42' }],
      name: [{ use: 'official', given: ['Patricia', 'Ann'], family: 'Patient' }, { use: 'nickname', given: ['P'] }],
      telecom: [
        { system: 'phone', value: '555-0100' },
        { system: 'fax', value: '123' },
      ],
      birthDate: '1990-04-02',
    });
  });
});
