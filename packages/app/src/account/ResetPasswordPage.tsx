/** Forgot password: POST /auth/resetpassword mails a set-password link (the same answer whether or not the account exists). */
import { Alert, Anchor, Button, Paper, Stack, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { FormAlert } from '../components/FormAlert';
import { PageTitle } from '../components/PageTitle';
import { useMedplum } from '../medplum-context';
import { useFormAction } from './useFormAction';

export function ResetPasswordPage() {
  const medplum = useMedplum();
  const { errors, busy, run } = useFormAction({ email: 'email' });
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);

  function submit(event: FormEvent): void {
    event.preventDefault();
    void run(async () => {
      await medplum.post('auth/resetpassword', { email: email.trim() });
      setSent(true);
    });
  }

  return (
    <Paper maw={420} mx="auto" mt="xl" p="lg" withBorder>
      <PageTitle>Reset your password</PageTitle>
      {sent ? (
        <Stack>
          <Alert color="green" role="status" title="Check your email">
            If an account uses {email.trim()}, we have sent it a link to set a new password. The link works once and expires in an hour.
          </Alert>
          <Anchor component={Link} to="/signin">
            Back to sign in
          </Anchor>
        </Stack>
      ) : (
        <form onSubmit={submit} noValidate aria-label="Reset password">
          <Stack>
            <FormAlert messages={errors.general} title="Could not send the link" />
            <TextInput label="Email" type="email" required autoComplete="email" value={email} onChange={(e) => setEmail(e.currentTarget.value)} error={errors.fields.email} />
            <Button type="submit" loading={busy}>
              Send me a link
            </Button>
            <Anchor component={Link} to="/signin" size="sm">
              Back to sign in
            </Anchor>
          </Stack>
        </form>
      )}
    </Paper>
  );
}
