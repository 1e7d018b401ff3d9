/** Change password (signed in): POST /auth/changepassword; the user's other sessions end. */
import { Alert, Button, Paper, PasswordInput, Stack } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { FormAlert } from '../components/FormAlert';
import { PageTitle } from '../components/PageTitle';
import { useMedplum } from '../medplum-context';
import { useFormAction } from './useFormAction';

export function ChangePasswordPage() {
  const medplum = useMedplum();
  const { errors, setErrors, busy, run } = useFormAction({ oldPassword: 'oldPassword', newPassword: 'newPassword' });
  const [values, setValues] = useState({ oldPassword: '', newPassword: '', confirm: '' });
  const [done, setDone] = useState(false);
  const set = (field: keyof typeof values) => (e: { currentTarget: { value: string } }) => {
    const value = e.currentTarget.value;
    setValues((v) => ({ ...v, [field]: value }));
  };

  function submit(event: FormEvent): void {
    event.preventDefault();
    if (values.newPassword !== values.confirm) {
      setErrors({ fields: { confirm: 'The two passwords differ.' }, general: [] });
      return;
    }
    setDone(false);
    void run(async () => {
      await medplum.post('auth/changepassword', { oldPassword: values.oldPassword, newPassword: values.newPassword });
      setValues({ oldPassword: '', newPassword: '', confirm: '' });
      setDone(true);
    });
  }

  return (
    <Paper maw={420} mx="auto" mt="md" p="lg" withBorder>
      <PageTitle>Change password</PageTitle>
      <form onSubmit={submit} noValidate aria-label="Change password">
        <Stack>
          {done && (
            <Alert color="green" role="status" title="Password changed">
              Your other sessions have been signed out.
            </Alert>
          )}
          <FormAlert messages={errors.general} />
          <PasswordInput label="Current password" required autoComplete="current-password" value={values.oldPassword} onChange={set('oldPassword')} error={errors.fields.oldPassword} />
          <PasswordInput label="New password" required autoComplete="new-password" value={values.newPassword} onChange={set('newPassword')} error={errors.fields.newPassword} />
          <PasswordInput label="Repeat the new password" required autoComplete="new-password" value={values.confirm} onChange={set('confirm')} error={errors.fields.confirm} />
          <Button type="submit" loading={busy}>
            Change password
          </Button>
        </Stack>
      </form>
    </Paper>
  );
}
