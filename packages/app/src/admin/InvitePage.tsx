/** Invite (`/admin/invite`): POST /admin/projects/:projectId/invite, then links to what it made. */
import type { AccessPolicy, Patient, ProjectMembership } from '@medplum/fhirtypes';
import { Alert, Anchor, Button, Paper, Stack, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { useFormAction } from '../account/useFormAction';
import { PageTitle } from '../components/PageTitle';
import { useMedplum, useSignIn } from '../medplum-context';
import { invite, type InviteBody } from './admin-api';
import { BulkInvite } from './BulkInvite';
import { INVITE_FIELDS, InviteForm } from './InviteForm';

export function InvitePage() {
  const medplum = useMedplum();
  const { project } = useSignIn();
  const queryClient = useQueryClient();
  const { errors, busy, run } = useFormAction(INVITE_FIELDS);
  const [result, setResult] = useState<{ membership: ProjectMembership; emailed: boolean } | undefined>();
  const [formKey, setFormKey] = useState(0);
  const policies = useQuery({
    queryKey: ['search', 'AccessPolicy', 'picker'],
    queryFn: async () => (await medplum.searchResources('AccessPolicy', '_count=200', { cache: 'no-cache' })) as AccessPolicy[],
  });

  const patients = useQuery({
    queryKey: ['search', 'Patient', 'picker'],
    queryFn: async () => (await medplum.searchResources('Patient', '_count=200', { cache: 'no-cache' })) as Patient[],
  });

  function submit(body: InviteBody): void {
    setResult(undefined);
    void run(async () => {
      const membership = await invite(medplum, project?.id ?? '', body);
      setResult({ membership, emailed: body.sendEmail });
      await queryClient.invalidateQueries({ queryKey: ['members'] });
      await queryClient.invalidateQueries({ queryKey: ['search', 'Patient'] });
    });
  }

  if (result) {
    const profile = result.membership.profile?.reference;
    return (
      <Paper maw={640} mx="auto" mt="md" p="lg" withBorder>
        <PageTitle>Member invited</PageTitle>
        <Stack>
          <Alert color="green" role="status" title="User created">
            {result.membership.profile?.display ?? 'The new member'} is now a member of this project.
            {result.emailed ? ' An email with a link to set a password has been sent.' : ' No email was sent.'}
          </Alert>
          <Anchor component={Link} to={`/admin/members/${result.membership.id}`}>
            Go to the new membership
          </Anchor>
          {profile && (
            <Anchor component={Link} to={`/${profile}`}>
              Go to the new profile
            </Anchor>
          )}
          <Anchor component={Link} to="/admin/users">
            Back to the users list
          </Anchor>
          <Button
            variant="default"
            onClick={() => {
              setResult(undefined);
              setFormKey((k) => k + 1);
            }}
          >
            Invite someone else
          </Button>
        </Stack>
      </Paper>
    );
  }

  return (
    <Paper maw={640} mx="auto" mt="md" p="lg" withBorder>
      <PageTitle>Invite a member</PageTitle>
      <InviteForm key={formKey} policies={policies.data} policiesLoading={policies.isPending} patients={patients.data} errors={errors} busy={busy} onSubmit={submit} />
      <Title order={2} size="h4" mt="xl" mb="sm">
        Invite several people from a file
      </Title>
      <BulkInvite projectId={project?.id ?? ''} />
    </Paper>
  );
}
