// @vitest-environment node
import { OperationOutcomeError } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { INVITE_FIELDS } from './admin/InviteForm';
import { readFormErrors } from './form-errors';

describe('readFormErrors', () => {
  it('puts each issue beside the field its expression names, and the rest on top', () => {
    const error = new OperationOutcomeError({
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'error', code: 'invalid', details: { text: 'email must be an email address' }, expression: ['email'] },
        { severity: 'error', code: 'invalid', details: { text: 'Unknown access policy' }, expression: ['membership.accessPolicy.reference'] },
        { severity: 'error', code: 'forbidden', details: { text: 'Only project admins may invite' } },
      ],
    });
    expect(readFormErrors(error, INVITE_FIELDS)).toEqual({
      fields: { email: 'email must be an email address', accessPolicy: 'Unknown access policy' },
      general: ['Only project admins may invite'],
    });
  });

  it('says in words when the server cannot be reached', () => {
    expect(readFormErrors(new TypeError('Failed to fetch'), {}).general).toEqual(['The server could not be reached. Check your connection and try again.']);
  });
});
