import type { AccessPolicy } from '@medplum/fhirtypes';
import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { renderInApp } from '../../test/render';
import { InviteForm } from './InviteForm';

const POLICIES: AccessPolicy[] = [{ resourceType: 'AccessPolicy', id: 'p1', name: 'Front desk' }];

describe('InviteForm', () => {
  it("sends Medplum's invite body: role, names, email, sendEmail, and the membership template", async () => {
    const onSubmit = vi.fn();
    const user = userEvent.setup({ delay: null });
    renderInApp(<InviteForm policies={POLICIES} policiesLoading={false} errors={{ fields: {}, general: [] }} busy={false} onSubmit={onSubmit} />);
    await user.selectOptions(screen.getByLabelText('Role'), 'Patient');
    await user.type(screen.getByLabelText(/^First name/), 'Homer');
    await user.type(screen.getByLabelText(/^Last name/), 'Simpson');
    await user.type(screen.getByRole('textbox', { name: /^Email/ }), 'homer@example.com');
    await user.click(screen.getByRole('textbox', { name: /^Access policy/ }));
    await user.click(await screen.findByRole('option', { name: 'Front desk' }));
    await user.click(screen.getByLabelText(/Project administrator/));
    await user.click(screen.getByLabelText(/Send an invitation email/));
    await user.click(screen.getByRole('button', { name: 'Invite' }));
    expect(onSubmit).toHaveBeenCalledWith({
      resourceType: 'Patient',
      firstName: 'Homer',
      lastName: 'Simpson',
      email: 'homer@example.com',
      sendEmail: false,
      membership: { admin: true, accessPolicy: { reference: 'AccessPolicy/p1', display: 'Front desk' } },
    });
  });

  it('sends email by default and no policy unless one is picked', async () => {
    const onSubmit = vi.fn();
    const user = userEvent.setup({ delay: null });
    renderInApp(<InviteForm policies={[]} policiesLoading={false} errors={{ fields: {}, general: [] }} busy={false} onSubmit={onSubmit} />);
    await user.click(screen.getByRole('button', { name: 'Invite' }));
    expect(onSubmit.mock.calls[0]?.[0]).toMatchObject({ resourceType: 'Practitioner', sendEmail: true, membership: { admin: false } });
    expect(onSubmit.mock.calls[0]?.[0].membership.accessPolicy).toBeUndefined();
  });

  it('shows each error beside its field', () => {
    renderInApp(
      <InviteForm
        policies={POLICIES}
        policiesLoading={false}
        errors={{ fields: { email: 'email must be an email address', accessPolicy: 'Unknown access policy' }, general: [] }}
        busy={false}
        onSubmit={() => undefined}
      />,
    );
    const email = screen.getByRole('textbox', { name: /^Email/ });
    expect(email.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(email.getAttribute('aria-describedby')?.split(' ').find((id) => id.includes('error')) ?? '')?.textContent).toBe('email must be an email address');
    expect(screen.getByText('Unknown access policy')).toBeTruthy();
  });
});
