/**
 * Sign in: POST /auth/login (with PKCE S256, through MedplumClient.startLogin), then the
 * TOTP code for a user enrolled in MFA (/auth/mfa/verify), then a choice when the user has
 * several memberships (/auth/profile), then the code exchange (/oauth2/token).
 */
import type { LoginAuthenticationResponse } from '@medplum/core';
import type { ProjectMembership } from '@medplum/fhirtypes';
import { Alert, Anchor, Group, Paper, Stack, Text } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { PageTitle } from '../components/PageTitle';
import { NO_ERRORS, readFormErrors, type FormErrors } from '../form-errors';
import { useSignIn } from '../medplum-context';
import { SignInForm, type SignInValues } from './SignInForm';
import { MembershipChoiceForm, MfaCodeForm } from './SignInSteps';

type Step = { kind: 'password' } | { kind: 'mfa'; login: string } | { kind: 'membership'; login: string; memberships: ProjectMembership[] };

/** Only paths of this app: `next` comes from the URL, so it must not lead elsewhere. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function SignInPage() {
  const { medplum, sessionEnded } = useSignIn();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [step, setStep] = useState<Step>({ kind: 'password' });
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const [token, setToken] = useState('');
  const [choice, setChoice] = useState('');

  async function run(action: () => Promise<void>, aliases: Record<string, string>): Promise<void> {
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      await action();
    } catch (err) {
      setErrors(readFormErrors(err, aliases));
    } finally {
      setBusy(false);
    }
  }

  async function handle(response: LoginAuthenticationResponse): Promise<void> {
    if (response.mfaRequired) {
      setStep({ kind: 'mfa', login: response.login });
    } else if (response.code) {
      await medplum.processCode(response.code);
      navigate(safeNext(params.get('next')));
    } else if (response.memberships && response.memberships.length > 0) {
      setChoice(response.memberships[0]?.id ?? '');
      setStep({ kind: 'membership', login: response.login, memberships: response.memberships });
    } else {
      setErrors({ fields: {}, general: ['This account is not a member of any project yet.'] });
    }
  }

  function signIn(values: SignInValues): void {
    void run(async () => handle(await medplum.startLogin(values)), { email: 'email', password: 'password' });
  }

  function verify(event: FormEvent): void {
    event.preventDefault();
    if (step.kind !== 'mfa') return;
    void run(async () => handle(await medplum.post('auth/mfa/verify', { login: step.login, token: token.trim() })), { token: 'token' });
  }

  function chooseMembership(event: FormEvent): void {
    event.preventDefault();
    if (step.kind !== 'membership') return;
    void run(async () => handle(await medplum.post('auth/profile', { login: step.login, profile: choice })), { profile: 'profile' });
  }

  return (
    <Paper maw={420} mx="auto" mt="xl" p="lg" withBorder>
      <PageTitle>Sign in</PageTitle>
      {sessionEnded && step.kind === 'password' && (
        <Alert color="yellow" role="status" mb="md" title="You were signed out">
          Your session has ended: it was signed out elsewhere, it expired, or your access to the project was removed. Sign in again to continue.
        </Alert>
      )}
      {step.kind === 'password' && (
        <Stack>
          <SignInForm onSubmit={signIn} errors={errors} busy={busy} />
          <Group justify="space-between">
            <Anchor component={Link} to="/resetpassword" size="sm">
              Forgot password?
            </Anchor>
            <Anchor component={Link} to="/register" size="sm">
              Register
            </Anchor>
          </Group>
        </Stack>
      )}
      {step.kind === 'mfa' && <MfaCodeForm onSubmit={verify} errors={errors} busy={busy} token={token} onTokenChange={setToken} />}
      {step.kind === 'membership' && (
        <MembershipChoiceForm
          onSubmit={chooseMembership}
          errors={errors}
          busy={busy}
          formLabel="Choose a project"
          question="You are a member of several projects. Which one?"
          memberships={step.memberships}
          choice={choice}
          onChoice={setChoice}
        >
          <Text size="xs" c="dimmed">
            You can switch projects by signing in again.
          </Text>
        </MembershipChoiceForm>
      )}
    </Paper>
  );
}
