/** The signed-in user's own page: who they are in which project (GET /auth/me), and account links. */
import { Alert, Anchor, Button, Group, Loader, Paper, Stack, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { PageTitle } from '../components/PageTitle';
import { errorText } from '../form-errors';
import { useMedplum } from '../medplum-context';

interface Me {
  project?: { id?: string; name?: string };
  membership?: { id?: string; admin?: boolean };
  profile?: { resourceType?: string; id?: string; name?: { given?: string[]; family?: string }[] };
  user?: { email?: string };
}

export function AccountPage() {
  const medplum = useMedplum();
  const me = useQuery({ queryKey: ['auth/me'], queryFn: () => medplum.get<Me>('auth/me', { cache: 'no-cache' }), retry: false });
  const name = me.data?.profile?.name?.[0];
  return (
    <Paper maw={640} mx="auto" mt="md" p="lg" withBorder>
      <PageTitle>Your account</PageTitle>
      {me.isPending && <Loader aria-label="Loading your account" />}
      {me.isError && (
        <Alert color="red" role="alert" title="Your account could not be loaded">
          {errorText(me.error)}
        </Alert>
      )}
      {me.data && (
        <Table aria-label="Your account" variant="vertical" withTableBorder style={{ wordBreak: 'break-word' }}>
          <Table.Tbody>
            <Table.Tr>
              <Table.Th w={160}>Name</Table.Th>
              <Table.Td>{[name?.given?.join(' '), name?.family].filter(Boolean).join(' ') || '—'}</Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th>Email</Table.Th>
              <Table.Td>{me.data.user?.email ?? '—'}</Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th>Project</Table.Th>
              <Table.Td>{me.data.project?.name ?? me.data.project?.id}</Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th>Role</Table.Th>
              <Table.Td>
                {me.data.profile?.resourceType}
                {me.data.membership?.admin ? ' (project administrator)' : ''}
              </Table.Td>
            </Table.Tr>
          </Table.Tbody>
        </Table>
      )}
      <Stack mt="md">
        <Group>
          <Button variant="default" onClick={() => me.refetch()} loading={me.isFetching}>
            Reload
          </Button>
          <Anchor component={Link} to="/changepassword">
            Change password
          </Anchor>
        </Group>
        <Text size="sm" c="dimmed">
          Signing out ends this session on the server too.
        </Text>
      </Stack>
    </Paper>
  );
}
