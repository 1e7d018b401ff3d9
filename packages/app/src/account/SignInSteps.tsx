/**
 * The steps of a sign-in after the password, shared by the sign-in page and the OAuth authorize
 * page: the authenticator code (MFA) and the choice of membership when there are several.
 */
import type { ProjectMembership } from '@medplum/fhirtypes';
import { Button, Radio, Stack, TextInput } from '@mantine/core';
import type { FormEvent, ReactNode, Ref } from 'react';
import { FormAlert } from '../components/FormAlert';
import type { FormErrors } from '../form-errors';

interface StepFormProps {
  onSubmit: (event: FormEvent) => void;
  errors: FormErrors;
  busy: boolean;
}

export function MfaCodeForm({ onSubmit, errors, busy, token, onTokenChange, inputRef }: StepFormProps & { token: string; onTokenChange: (token: string) => void; inputRef?: Ref<HTMLInputElement> }) {
  return (
    <form onSubmit={onSubmit} aria-label="Two-factor code">
      <Stack>
        <FormAlert messages={errors.general} title="Could not sign in" />
        <TextInput
          label="Code from your authenticator app"
          inputMode="numeric"
          autoComplete="one-time-code"
          required
          value={token}
          onChange={(e) => onTokenChange(e.currentTarget.value)}
          error={errors.fields.token}
          data-autofocus
          {...(inputRef ? { ref: inputRef } : {})}
        />
        <Button type="submit" loading={busy}>
          Verify
        </Button>
      </Stack>
    </form>
  );
}

export function MembershipChoiceForm({
  onSubmit,
  errors,
  busy,
  formLabel,
  question,
  memberships,
  choice,
  onChoice,
  children,
}: StepFormProps & { formLabel: string; question: string; memberships: ProjectMembership[]; choice: string; onChoice: (id: string) => void; children?: ReactNode }) {
  return (
    <form onSubmit={onSubmit} aria-label={formLabel}>
      <Stack>
        <FormAlert messages={errors.general} title="Could not sign in" />
        <Radio.Group label={question} value={choice} onChange={onChoice} error={errors.fields.profile}>
          <Stack mt="xs">
            {memberships.map((m) => (
              <Radio key={m.id} value={m.id ?? ''} label={`${m.project?.display ?? m.project?.reference ?? 'Project'} — ${m.profile?.display ?? m.profile?.reference ?? ''}`} />
            ))}
          </Stack>
        </Radio.Group>
        <Button type="submit" loading={busy}>
          Continue
        </Button>
        {children}
      </Stack>
    </form>
  );
}
