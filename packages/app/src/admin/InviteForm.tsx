/**
 * The invite form: role, names, email, access policy, admin flag, send-email checkbox. It
 * only gathers the values and shows errors by field; the page sends them.
 */
import type { AccessPolicy, Patient } from '@medplum/fhirtypes';
import { Button, Checkbox, NativeSelect, Select, SimpleGrid, Stack, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { FormAlert } from '../components/FormAlert';
import type { FormErrors } from '../form-errors';
import type { InviteBody } from './admin-api';

/** The server's field paths → this form's fields (Medplum's body nests the policy and admin flag in `membership`). */
export const INVITE_FIELDS: Record<string, string> = {
  resourceType: 'resourceType',
  firstName: 'firstName',
  lastName: 'lastName',
  email: 'email',
  sendEmail: 'sendEmail',
  'membership.accessPolicy': 'accessPolicy',
  'membership.admin': 'admin',
  accessPolicy: 'accessPolicy',
  admin: 'admin',
  patient: 'patient',
};

export interface InviteFormProps {
  policies: AccessPolicy[] | undefined;
  policiesLoading: boolean;
  /** The project's patients, for a RelatedPerson's "related to" choice. */
  patients?: Patient[];
  errors: FormErrors;
  busy: boolean;
  onSubmit: (body: InviteBody) => void;
}

function patientName(p: Patient): string {
  const n = p.name?.[0];
  return [n?.given?.join(' '), n?.family].filter(Boolean).join(' ') || p.id || 'Patient';
}

export function InviteForm({ policies, policiesLoading, patients, errors, busy, onSubmit }: InviteFormProps) {
  const [role, setRole] = useState<InviteBody['resourceType']>('Practitioner');
  const [firstName, setFirstName] = useState('');
  const [lastName, setLastName] = useState('');
  const [email, setEmail] = useState('');
  const [policyId, setPolicyId] = useState<string | null>(null);
  const [admin, setAdmin] = useState(false);
  const [sendEmail, setSendEmail] = useState(true);
  const [patientId, setPatientId] = useState<string | null>(null);

  function submit(event: FormEvent): void {
    event.preventDefault();
    const policy = policies?.find((p) => p.id === policyId);
    const patient = role === 'RelatedPerson' ? patients?.find((p) => p.id === patientId) : undefined;
    onSubmit({
      resourceType: role,
      firstName: firstName.trim(),
      lastName: lastName.trim(),
      email: email.trim(),
      sendEmail,
      membership: {
        admin,
        ...(policy ? { accessPolicy: { reference: `AccessPolicy/${policy.id}`, display: policy.name } } : {}),
      },
      ...(patient ? { patient: { reference: `Patient/${patient.id}`, display: patientName(patient) } } : {}),
    });
  }

  return (
    <form onSubmit={submit} noValidate aria-label="Invite">
      <Stack>
        <FormAlert messages={errors.general} title="Not invited" />
        <NativeSelect
          label="Role"
          value={role}
          onChange={(e) => setRole(e.currentTarget.value as InviteBody['resourceType'])}
          data={[
            { value: 'Practitioner', label: 'Practitioner (staff)' },
            { value: 'Patient', label: 'Patient' },
            { value: 'RelatedPerson', label: 'Related person (family, caregiver)' },
          ]}
          error={errors.fields.resourceType}
        />
        {role === 'RelatedPerson' && (
          <Select
            label="Related to patient"
            description="The patient this person cares for"
            required
            searchable
            placeholder={patients?.length ? 'Choose a patient' : 'No patients in this project yet'}
            value={patientId}
            onChange={setPatientId}
            data={(patients ?? []).map((p) => ({ value: p.id ?? '', label: patientName(p) }))}
            error={errors.fields.patient}
          />
        )}
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label="First name" required value={firstName} onChange={(e) => setFirstName(e.currentTarget.value)} error={errors.fields.firstName} />
          <TextInput label="Last name" required value={lastName} onChange={(e) => setLastName(e.currentTarget.value)} error={errors.fields.lastName} />
        </SimpleGrid>
        <TextInput label="Email" type="email" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} error={errors.fields.email} />
        <Select
          label="Access policy"
          description="What this member may read and change. Without one, everything in the project."
          placeholder={policiesLoading ? 'Loading policies…' : policies?.length ? 'None' : 'No access policies in this project'}
          clearable
          searchable
          value={policyId}
          onChange={setPolicyId}
          data={(policies ?? []).map((p) => ({ value: p.id ?? '', label: p.name ?? p.id ?? '' }))}
          error={errors.fields.accessPolicy}
          nothingFoundMessage="No policy by that name"
        />
        <Checkbox label="Project administrator" description="May invite, change and remove members" checked={admin} onChange={(e) => setAdmin(e.currentTarget.checked)} error={errors.fields.admin} />
        <Checkbox label="Send an invitation email" description="With a link to set a password" checked={sendEmail} onChange={(e) => setSendEmail(e.currentTarget.checked)} error={errors.fields.sendEmail} />
        <Button type="submit" loading={busy}>
          Invite
        </Button>
      </Stack>
    </form>
  );
}
