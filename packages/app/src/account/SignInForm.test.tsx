import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { renderInApp } from '../../test/render';
import { SignInForm } from './SignInForm';

describe('SignInForm', () => {
  it('has a label on every input and submits the trimmed email and the password', async () => {
    const onSubmit = vi.fn();
    const user = userEvent.setup({ delay: null });
    renderInApp(<SignInForm onSubmit={onSubmit} errors={{ fields: {}, general: [] }} busy={false} />);
    await user.type(screen.getByLabelText(/^Email/), '  ada@example.com ');
    await user.type(screen.getByLabelText(/^Password/), 'secret words');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(onSubmit).toHaveBeenCalledWith({ email: 'ada@example.com', password: 'secret words' });
  });

  it('shows the server messages beside their fields and on top', () => {
    renderInApp(<SignInForm onSubmit={() => undefined} errors={{ fields: { password: 'Email or password is invalid' }, general: ['Too many attempts'] }} busy={false} />);
    // The message is tied to the input, so a screen reader reads it with the field.
    const password = screen.getByLabelText(/^Password/);
    const message = screen.getByText('Email or password is invalid');
    expect(password.getAttribute('aria-describedby')?.split(' ')).toContain(message.id);
    expect(screen.getByRole('alert').textContent).toContain('Too many attempts');
  });
});
