/** Register and create a project: /auth/newuser, then /auth/newproject, then sign in with the code. */
import { Anchor, Button, Paper, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { FormAlert } from '../components/FormAlert';
import { PageTitle } from '../components/PageTitle';
import { useMedplum } from '../medplum-context';
import { useFormAction } from './useFormAction';

const FIELDS = { firstName: 'firstName', lastName: 'lastName', email: 'email', password: 'password', projectName: 'projectName' };

export function RegisterPage() {
  const medplum = useMedplum();
  const navigate = useNavigate();
  const { errors, busy, run } = useFormAction(FIELDS);
  const [values, setValues] = useState({ firstName: '', lastName: '', email: '', password: '', projectName: '' });
  const set = (field: keyof typeof values) => (e: { currentTarget: { value: string } }) => {
    const value = e.currentTarget.value;
    setValues((v) => ({ ...v, [field]: value }));
  };

  function submit(event: FormEvent): void {
    event.preventDefault();
    void run(async () => {
      const { projectName, ...user } = values;
      const started = await medplum.startNewUser({ ...user, email: user.email.trim(), recaptchaToken: '' });
      const created = await medplum.startNewProject({ login: started.login, projectName: projectName.trim() });
      if (!created.code) throw new Error('The project was created, but signing in did not complete. Please sign in.');
      await medplum.processCode(created.code);
      navigate('/admin/project');
    });
  }

  return (
    <Paper maw={480} mx="auto" mt="xl" p="lg" withBorder>
      <PageTitle>Register</PageTitle>
      <Text size="sm" mb="md">
        Create your account and your first project. You will be its administrator.
      </Text>
      <form onSubmit={submit} noValidate aria-label="Register">
        <Stack>
          <FormAlert messages={errors.general} title="Could not register" />
          <TextInput label="First name" required autoComplete="given-name" value={values.firstName} onChange={set('firstName')} error={errors.fields.firstName} />
          <TextInput label="Last name" required autoComplete="family-name" value={values.lastName} onChange={set('lastName')} error={errors.fields.lastName} />
          <TextInput label="Email" type="email" required autoComplete="email" value={values.email} onChange={set('email')} error={errors.fields.email} />
          <PasswordInput label="Password" description="8 to 128 characters; not a common password" required autoComplete="new-password" value={values.password} onChange={set('password')} error={errors.fields.password} />
          <TextInput label="Project name" required value={values.projectName} onChange={set('projectName')} error={errors.fields.projectName} />
          <Button type="submit" loading={busy}>
            Create account and project
          </Button>
          <Anchor component={Link} to="/signin" size="sm">
            Already registered? Sign in
          </Anchor>
        </Stack>
      </form>
    </Paper>
  );
}
