// @vitest-environment node
import { OperationOutcomeError } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { entriesOf, newEntry, policyFrom, readPolicyErrors } from './policy-form';

describe('access policy form', () => {
  it('turns entries into AccessPolicy.resource, keeping the fields the form does not edit', () => {
    const entry = { ...newEntry('Observation'), criteria: ' Observation?subject=%patient ', hiddenFields: 'note, performer ,', readonly: true };
    const policy = policyFrom({ resourceType: 'AccessPolicy', id: 'p1', meta: { versionId: '3' }, name: 'Old' }, ' Own records ', [entry, newEntry('Patient')]);
    expect(policy).toEqual({
      resourceType: 'AccessPolicy',
      id: 'p1',
      meta: { versionId: '3' },
      name: 'Own records',
      resource: [{ resourceType: 'Observation', criteria: 'Observation?subject=%patient', readonly: true, hiddenFields: ['note', 'performer'] }, { resourceType: 'Patient' }],
    });
    expect(entriesOf(policy).map(({ key: _key, ...rest }) => rest)).toEqual([
      { resourceType: 'Observation', criteria: 'Observation?subject=%patient', readonly: true, hiddenFields: 'note, performer' },
      { resourceType: 'Patient', criteria: '', readonly: false, hiddenFields: '' },
    ]);
  });

  it("places the server's errors on the entry and field their expression names", () => {
    const error = new OperationOutcomeError({
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'error', code: 'invalid', details: { text: 'the criteria must search Observation' }, expression: ['resource[0]'] },
        { severity: 'error', code: 'invalid', details: { text: '"Foo" is not a resource type' }, expression: ['resource[2].resourceType'] },
        { severity: 'error', code: 'invalid', details: { text: 'not an element path' }, expression: ['resource[1].hiddenFields[0]'] },
        { severity: 'error', code: 'invalid', details: { text: 'Something else' } },
      ],
    });
    expect(readPolicyErrors(error)).toEqual({
      general: ['Something else'],
      entries: { 0: { criteria: 'the criteria must search Observation' }, 1: { hiddenFields: 'not an element path' }, 2: { resourceType: '"Foo" is not a resource type' } },
    });
  });
});
