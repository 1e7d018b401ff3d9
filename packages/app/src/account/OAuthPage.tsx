/**
 * `/oauth`: where `/oauth2/authorize` sends a third-party application's user. The page asks
 * the server to check the request (`/oauth2/client-info`), shows which application asks and
 * for what, then signs in as the sign-in page does: `/auth/login` with the client, its
 * redirect URI, the scope, nonce and PKCE challenge (the server checks all of it again and
 * binds the code to it), the TOTP code when enrolled (`/auth/mfa/verify`), a membership when
 * several (`/auth/profile`). The code goes back to the application at the redirect URI the
 * server confirmed, with `state` and `iss`; Cancel sends `error=access_denied` there instead.
 * A `login_hint` that is an email address pre-fills the email field, nothing more.
 * It never exchanges the code: that is the application's, with its PKCE verifier.
 */
import type { LoginAuthenticationResponse } from '@medplum/core';
import type { ProjectMembership } from '@medplum/fhirtypes';
import { Alert, Button, List, Loader, Paper, Stack, Text } from '@mantine/core';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { PageTitle } from '../components/PageTitle';
import type { FormErrors } from '../form-errors';
import { useSignIn } from '../medplum-context';
import { SignInForm, type SignInValues } from './SignInForm';
import { MembershipChoiceForm, MfaCodeForm } from './SignInSteps';
import { describeScopes, emailFromLoginHint, fetchClientInfo, responseUrl, type ClientInfo } from './oauth-request';
import { useFormAction } from './useFormAction';

type Step = { kind: 'password' } | { kind: 'mfa'; login: string } | { kind: 'membership'; login: string; memberships: ProjectMembership[] } | { kind: 'leaving' };

type Load = { state: 'loading' } | { state: 'failed'; message: string } | { state: 'ready'; info: ClientInfo };

/** Which application asks, and for what, in plain words. */
export function OAuthRequestSummary({ info }: { info: ClientInfo }) {
  return (
    <Stack gap="xs">
      <Text>
        <strong>{info.client_name}</strong> asks to sign you in. If you continue, it will be able to:
      </Text>
      <List size="sm" spacing={4} aria-label="What the application asks for">
        {describeScopes(info.scope).map((sentence) => (
          <List.Item key={sentence}>{sentence}</List.Item>
        ))}
      </List>
      <Text size="xs" c="dimmed">
        You will return to {new URL(info.redirect_uri).host || info.redirect_uri}.
      </Text>
    </Stack>
  );
}

/** Cancel: back to the application with `access_denied` (RFC 6749 section 4.1.2.1). */
export function OAuthDenyButton({ info, onLeave, disabled }: { info: ClientInfo; onLeave: (url: string) => void; disabled: boolean }) {
  const [params] = useSearchParams();
  function deny(): void {
    onLeave(responseUrl(info, params.get('state'), { error: 'access_denied', error_description: 'The user cancelled the sign-in' }));
  }
  return (
    <Button variant="default" onClick={deny} disabled={disabled}>
      Cancel and return to {info.client_name}
    </Button>
  );
}

/**
 * The email and password form, its email pre-filled from the request's `login_hint` (OIDC Core
 * 3.1.2.1) when that is an email address. Only a convenience: the user can change it, and the
 * server knows nothing of it at `/auth/login`.
 */
export function OAuthSignInForm({ onSubmit, errors, busy }: { onSubmit: (values: SignInValues) => void; errors: FormErrors; busy: boolean }) {
  const [params] = useSearchParams();
  return <SignInForm onSubmit={onSubmit} errors={errors} busy={busy} initialEmail={emailFromLoginHint(params.get('login_hint'))} />;
}

function leave(url: string): void {
  window.location.assign(url);
}

export function OAuthPage() {
  const { medplum } = useSignIn();
  const [params] = useSearchParams();
  const [load, setLoad] = useState<Load>({ state: 'loading' });
  const [step, setStep] = useState<Step>({ kind: 'password' });
  const [token, setToken] = useState('');
  const [choice, setChoice] = useState('');
  const { errors, setErrors, busy, run } = useFormAction({ email: 'email', password: 'password', token: 'token', profile: 'profile' });
  const search = params.toString();
  const codeInput = useRef<HTMLInputElement>(null);

  // The code field appears in place of the password form: move the focus to it.
  useEffect(() => {
    if (step.kind === 'mfa') codeInput.current?.focus();
  }, [step.kind]);

  useEffect(() => {
    let current = true;
    fetchClientInfo(search ? `?${search}` : '').then(
      (info) => current && setLoad({ state: 'ready', info }),
      (err: Error) => current && setLoad({ state: 'failed', message: err.message }),
    );
    return () => {
      current = false;
    };
  }, [search]);

  if (load.state === 'loading') {
    return (
      <Paper maw={460} mx="auto" mt="xl" p="lg" withBorder>
        <PageTitle>Sign in</PageTitle>
        <Loader aria-label="Checking the sign-in request" />
      </Paper>
    );
  }
  if (load.state === 'failed') {
    return (
      <Paper maw={460} mx="auto" mt="xl" p="lg" withBorder>
        <PageTitle>Sign-in request not accepted</PageTitle>
        <Alert color="red" role="alert" title="This application's request cannot be used">
          {load.message}
        </Alert>
        <Text mt="md">Return to the application and start again. If this keeps happening, tell the application's support.</Text>
      </Paper>
    );
  }
  const info = load.info;

  function goBack(url: string): void {
    setStep({ kind: 'leaving' });
    leave(url);
  }

  async function handle(response: LoginAuthenticationResponse): Promise<void> {
    if (response.mfaRequired) {
      setStep({ kind: 'mfa', login: response.login });
    } else if (response.code) {
      goBack(responseUrl(info, params.get('state'), { code: response.code }));
    } else if (response.memberships && response.memberships.length > 0) {
      setChoice(response.memberships[0]?.id ?? '');
      setStep({ kind: 'membership', login: response.login, memberships: response.memberships });
    } else {
      setErrors({ fields: {}, general: [`This account has no access to ${info.client_name}'s project.`] });
    }
  }

  function signIn(values: SignInValues): void {
    const nonce = params.get('nonce');
    const codeChallenge = params.get('code_challenge');
    const codeChallengeMethod = params.get('code_challenge_method');
    // What the server checked at /oauth2/authorize; /auth/login checks it all again.
    const body = {
      ...values,
      clientId: info.client_id,
      redirectUri: info.redirect_uri,
      scope: info.scope,
      ...(nonce !== null ? { nonce } : {}),
      ...(codeChallenge !== null ? { codeChallenge } : {}),
      ...(codeChallengeMethod !== null ? { codeChallengeMethod } : {}),
    };
    void run(async () => handle(await medplum.post('auth/login', body)));
  }

  function verify(event: FormEvent): void {
    event.preventDefault();
    if (step.kind !== 'mfa') return;
    void run(async () => handle(await medplum.post('auth/mfa/verify', { login: step.login, token: token.trim() })));
  }

  function chooseMembership(event: FormEvent): void {
    event.preventDefault();
    if (step.kind !== 'membership') return;
    void run(async () => handle(await medplum.post('auth/profile', { login: step.login, profile: choice })));
  }

  return (
    <Paper maw={460} mx="auto" mt="xl" p="lg" withBorder>
      <PageTitle>{`Sign in to ${info.client_name}`}</PageTitle>
      <Stack>
        <OAuthRequestSummary info={info} />
        {step.kind === 'password' && <OAuthSignInForm onSubmit={signIn} errors={errors} busy={busy} />}
        {step.kind === 'mfa' && <MfaCodeForm onSubmit={verify} errors={errors} busy={busy} token={token} onTokenChange={setToken} inputRef={codeInput} />}
        {step.kind === 'membership' && (
          <MembershipChoiceForm
            onSubmit={chooseMembership}
            errors={errors}
            busy={busy}
            formLabel="Choose a profile"
            question={`Continue to ${info.client_name} as`}
            memberships={step.memberships}
            choice={choice}
            onChoice={setChoice}
          />
        )}
        {step.kind === 'leaving' ? (
          <Text role="status">Returning you to {info.client_name}…</Text>
        ) : (
          <OAuthDenyButton info={info} onLeave={goBack} disabled={busy} />
        )}
      </Stack>
    </Paper>
  );
}
