/** The table of a project's members (Users and Patients tabs): name, email, role, policy, admin, state. */
import { Anchor, Badge, Center, Loader, Table, Text } from '@mantine/core';
import { Link } from 'react-router';
import type { MemberSummary } from './admin-api';
import { memberStatus, profileName } from './member-labels';

export interface MembersTableProps {
  members: MemberSummary[] | undefined;
  loading: boolean;
  /** What to say when there are none ("No users yet."). */
  emptyText: string;
  caption: string;
}

export function MembersTable({ members, loading, emptyText, caption }: MembersTableProps) {
  if (loading) {
    return (
      <Center p="lg">
        <Loader aria-label={`Loading ${caption.toLowerCase()}`} />
      </Center>
    );
  }
  if (!members || members.length === 0) {
    return (
      <Text c="dimmed" p="md" role="status">
        {emptyText}
      </Text>
    );
  }
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table striped highlightOnHover aria-label={caption}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Email</Table.Th>
            <Table.Th>Role</Table.Th>
            <Table.Th>Access policy</Table.Th>
            <Table.Th>Admin</Table.Th>
            <Table.Th>Status</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {members.map((m) => {
            const status = memberStatus(m);
            return (
              <Table.Tr key={m.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/admin/members/${m.id}${m.removed ? '?removed=true' : ''}`}>
                    {profileName(m)}
                  </Anchor>
                  {m.owner && (
                    <Badge ml="xs" size="xs" variant="light">
                      Owner
                    </Badge>
                  )}
                </Table.Td>
                <Table.Td>{m.email ?? '—'}</Table.Td>
                <Table.Td>{m.profile.reference?.split('/')[0]}</Table.Td>
                <Table.Td>{m.accessPolicy.map((p) => p.display ?? p.reference).join(', ') || 'None (full access)'}</Table.Td>
                <Table.Td>{m.admin ? 'Yes' : 'No'}</Table.Td>
                <Table.Td>
                  <Badge color={status.color} variant="light">
                    {status.label}
                  </Badge>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
