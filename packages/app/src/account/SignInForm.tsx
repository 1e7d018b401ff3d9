/** Email and password, with the server's messages beside the fields they name. */
import { Button, PasswordInput, Stack, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { FormAlert } from '../components/FormAlert';
import type { FormErrors } from '../form-errors';

export interface SignInValues {
  email: string;
  password: string;
}

/** `initialEmail` only fills the field at first (the `/oauth` page's `login_hint`); the user can change it. */
export function SignInForm({ onSubmit, errors, busy, initialEmail }: { onSubmit: (values: SignInValues) => void; errors: FormErrors; busy: boolean; initialEmail?: string | undefined }) {
  const [email, setEmail] = useState(initialEmail ?? '');
  const [password, setPassword] = useState('');
  function submit(event: FormEvent): void {
    event.preventDefault();
    onSubmit({ email: email.trim(), password });
  }
  return (
    <form onSubmit={submit} noValidate aria-label="Sign in">
      <Stack>
        <FormAlert messages={errors.general} title="Could not sign in" />
        <TextInput label="Email" type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} error={errors.fields.email} />
        <PasswordInput label="Password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.currentTarget.value)} error={errors.fields.password} />
        <Button type="submit" loading={busy}>
          Sign in
        </Button>
      </Stack>
    </form>
  );
}
