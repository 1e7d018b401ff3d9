/** The page an emailed link opens (`/setpassword/:id/:secret`, reset and invite): POST /auth/setpassword. */
import { Alert, Anchor, Button, Paper, PasswordInput, Stack } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { FormAlert } from '../components/FormAlert';
import { PageTitle } from '../components/PageTitle';
import { useMedplum } from '../medplum-context';
import { useFormAction } from './useFormAction';

export function SetPasswordPage() {
  const medplum = useMedplum();
  const { id = '', secret = '' } = useParams();
  // The link's id and secret are not fields of this form: their errors read as a broken link.
  const { errors, setErrors, busy, run } = useFormAction({ password: 'password' });
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [done, setDone] = useState(false);

  function submit(event: FormEvent): void {
    event.preventDefault();
    if (password !== confirm) {
      setErrors({ fields: { confirm: 'The two passwords differ.' }, general: [] });
      return;
    }
    void run(async () => {
      await medplum.post('auth/setpassword', { id, secret, password });
      setDone(true);
    });
  }

  return (
    <Paper maw={420} mx="auto" mt="xl" p="lg" withBorder>
      <PageTitle>Set your password</PageTitle>
      {done ? (
        <Stack>
          <Alert color="green" role="status" title="Password set">
            Your password is set. You can sign in now.
          </Alert>
          <Anchor component={Link} to="/signin">
            Sign in
          </Anchor>
        </Stack>
      ) : (
        <form onSubmit={submit} noValidate aria-label="Set password">
          <Stack>
            <FormAlert messages={errors.general} title="The password was not set" />
            <PasswordInput label="New password" description="8 to 128 characters; not a common password" required autoComplete="new-password" value={password} onChange={(e) => setPassword(e.currentTarget.value)} error={errors.fields.password} />
            <PasswordInput label="Repeat the new password" required autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.currentTarget.value)} error={errors.fields.confirm} />
            <Button type="submit" loading={busy}>
              Set password
            </Button>
          </Stack>
        </form>
      )}
    </Paper>
  );
}
