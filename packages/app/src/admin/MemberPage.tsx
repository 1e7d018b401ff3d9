/**
 * A membership (`/admin/members/:id`): profile, email, invite state (resend the invite while
 * pending), access policy and admin flag editing, remove (the profile resource is kept) and
 * restore. Reads GET .../members/:id (410 once removed) and the member list for the email,
 * invite state and removal.
 */
import { OperationOutcomeError } from '@medplum/core';
import type { AccessPolicy, ProjectMembership } from '@medplum/fhirtypes';
import { Alert, Anchor, Badge, Button, Checkbox, Group, Loader, Modal, Paper, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useFormAction } from '../account/useFormAction';
import { FormAlert } from '../components/FormAlert';
import { PageTitle } from '../components/PageTitle';
import { errorText } from '../form-errors';
import { useMedplum, useSignIn } from '../medplum-context';
import { memberPath, readAllMembers, type MemberProfileType, type MemberSummary } from './admin-api';
import { memberStatus, profileName } from './member-labels';
import { PreviewAsMember } from './PreviewAsMember';

const PEOPLE: MemberProfileType[] = ['Practitioner', 'RelatedPerson', 'Patient'];

interface Loaded {
  summary: MemberSummary;
  /** The current membership resource; undefined once removed. */
  membership?: ProjectMembership;
}

function isGone(error: unknown): boolean {
  return error instanceof OperationOutcomeError && error.outcome.issue?.some((i) => i.code === 'deleted' || /removed/i.test(i.details?.text ?? '')) === true;
}

export function MemberPage() {
  const medplum = useMedplum();
  const { project } = useSignIn();
  const projectId = project?.id ?? '';
  const { id = '' } = useParams();
  const queryClient = useQueryClient();
  const [notice, setNotice] = useState<string | undefined>();

  const member = useQuery({
    queryKey: ['member', projectId, id],
    queryFn: async (): Promise<Loaded> => {
      let membership: ProjectMembership | undefined;
      try {
        membership = await medplum.get<ProjectMembership>(memberPath(projectId, id), { cache: 'no-cache' });
      } catch (err) {
        if (!isGone(err)) throw err;
      }
      const type = membership?.profile?.reference?.split('/')[0] as MemberProfileType | undefined;
      const list = await readAllMembers(medplum, projectId, type ? [type] : PEOPLE, !membership);
      const summary = list.find((m) => m.id === id);
      if (!summary) throw new Error('This membership is not part of this project.');
      return { summary, membership };
    },
    retry: false,
  });
  const policies = useQuery({
    queryKey: ['search', 'AccessPolicy', 'picker'],
    queryFn: async () => (await medplum.searchResources('AccessPolicy', '_count=200', { cache: 'no-cache' })) as AccessPolicy[],
  });

  const [policyId, setPolicyId] = useState<string | null>(null);
  const [admin, setAdmin] = useState(false);
  useEffect(() => {
    const m = member.data?.membership;
    setPolicyId(m?.accessPolicy?.reference?.split('/')[1] ?? null);
    setAdmin(!!m?.admin);
  }, [member.data]);

  const save = useFormAction({ accessPolicy: 'accessPolicy', admin: 'admin' });
  const actions = useFormAction({});
  const [confirmOpen, confirm] = useDisclosure(false);

  async function refresh(message: string): Promise<void> {
    setNotice(message);
    await queryClient.invalidateQueries({ queryKey: ['members'] });
    await member.refetch();
  }

  function saveChanges(): void {
    const current = member.data?.membership;
    if (!current) return;
    const policy = policies.data?.find((p) => p.id === policyId);
    const { accessPolicy: _old, ...rest } = current;
    const body: ProjectMembership = { ...rest, admin, ...(policy ? { accessPolicy: { reference: `AccessPolicy/${policy.id}`, display: policy.name } } : {}) };
    setNotice(undefined);
    void save.run(async () => {
      await medplum.post(memberPath(projectId, id), body);
      await refresh('Changes saved.');
    });
  }

  function act(path: string, method: 'post' | 'delete', message: string): void {
    confirm.close();
    setNotice(undefined);
    void actions.run(async () => {
      if (method === 'delete') await medplum.delete(memberPath(projectId, id));
      else await medplum.post(memberPath(projectId, id, path), {});
      await refresh(message);
    });
  }

  if (member.isPending) return <Loader aria-label="Loading the member" />;
  if (member.isError) {
    return (
      <>
        <PageTitle>Member</PageTitle>
        <Alert color="red" role="alert" title="This member could not be loaded">
          {errorText(member.error)}
        </Alert>
      </>
    );
  }
  const { summary, membership } = member.data;
  const status = memberStatus(summary);
  const profileType = summary.profile.reference?.split('/')[0] ?? 'profile';

  return (
    <>
      <PageTitle>{profileName(summary)}</PageTitle>
      <Stack maw={760}>
        {notice && (
          <Alert color="green" role="status" withCloseButton onClose={() => setNotice(undefined)}>
            {notice}
          </Alert>
        )}
        <FormAlert messages={actions.errors.general} title="That did not work" />
        <Paper p="md" withBorder>
          <Table variant="vertical" aria-label="Member">
            <Table.Tbody>
              <Table.Tr>
                <Table.Th w={160}>Profile</Table.Th>
                <Table.Td>
                  <Anchor component={Link} to={`/${summary.profile.reference}`}>
                    {profileName(summary)} ({profileType})
                  </Anchor>
                </Table.Td>
              </Table.Tr>
              <Table.Tr>
                <Table.Th>Email</Table.Th>
                <Table.Td>{summary.email ?? '—'}</Table.Td>
              </Table.Tr>
              <Table.Tr>
                <Table.Th>Status</Table.Th>
                <Table.Td>
                  <Badge color={status.color} variant="light">
                    {status.label}
                  </Badge>{' '}
                  {!summary.removed && (summary.inviteState === 'pending' ? 'Invite pending: no password set yet' : 'Invite accepted')}
                  {summary.owner && ' · Project owner'}
                </Table.Td>
              </Table.Tr>
            </Table.Tbody>
          </Table>
          {!summary.removed && summary.inviteState === 'pending' && (
            <Button mt="sm" variant="default" loading={actions.busy} onClick={() => act('/resend-invite', 'post', 'The invite has been sent again.')}>
              Resend invite
            </Button>
          )}
        </Paper>

        {membership ? (
          <Paper p="md" withBorder>
            <Title order={2} size="h4" mb="sm">
              Access
            </Title>
            <Stack>
              <FormAlert messages={save.errors.general} />
              <Select
                label="Access policy"
                placeholder={policies.data?.length ? 'None: everything in the project' : 'No access policies in this project'}
                clearable
                searchable
                value={policyId}
                onChange={setPolicyId}
                data={(policies.data ?? []).map((p) => ({ value: p.id ?? '', label: p.name ?? p.id ?? '' }))}
                error={save.errors.fields.accessPolicy}
              />
              <Checkbox label="Project administrator" checked={admin} onChange={(e) => setAdmin(e.currentTarget.checked)} error={save.errors.fields.admin} />
              <Group>
                <Button onClick={saveChanges} loading={save.busy}>
                  Save
                </Button>
              </Group>
            </Stack>
          </Paper>
        ) : null}

        {membership && <PreviewAsMember projectId={projectId} membershipId={id} />}

        <Paper p="md" withBorder>
          {summary.removed ? (
            <Stack>
              <Text>This member was removed: they cannot sign in to this project. Their {profileType} resource was kept.</Text>
              <Group>
                <Button color="green" loading={actions.busy} onClick={() => act('/restore', 'post', 'The member has been restored.')}>
                  Restore
                </Button>
              </Group>
            </Stack>
          ) : (
            <Group>
              <Button color="red" variant="outline" onClick={confirm.open} loading={actions.busy}>
                Remove user
              </Button>
            </Group>
          )}
        </Paper>
      </Stack>
      <Modal opened={confirmOpen} onClose={confirm.close} title="Remove this member?" centered>
        <Stack>
          <Text>
            {profileName(summary)} will no longer be able to sign in to this project, and their current sessions stop working. Their {profileType} resource is kept, with
            its history, and the membership can be restored later.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={confirm.close}>
              Cancel
            </Button>
            <Button color="red" onClick={() => act('', 'delete', 'The member has been removed. Their profile resource was kept.')}>
              Remove
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
