/** The Users and Patients tabs: current or removed members of some profile types. */
import { Alert, Button, Group, SegmentedControl } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { errorText } from '../form-errors';
import { useMedplum } from '../medplum-context';
import { readAllMembers, type MemberProfileType } from './admin-api';
import { MembersTable } from './MembersTable';

export function MembersTab({ projectId, types, noun }: { projectId: string; types: MemberProfileType[]; noun: string }) {
  const medplum = useMedplum();
  const [show, setShow] = useState<'current' | 'removed'>('current');
  const removed = show === 'removed';
  const query = useQuery({
    queryKey: ['members', projectId, types.join(','), removed],
    queryFn: () => readAllMembers(medplum, projectId, types, removed),
  });
  return (
    <>
      <Group justify="space-between" mb="sm">
        <SegmentedControl
          aria-label={`Which ${noun.toLowerCase()} to show`}
          value={show}
          onChange={(v) => setShow(v as 'current' | 'removed')}
          data={[
            { value: 'current', label: 'Current' },
            { value: 'removed', label: 'Removed' },
          ]}
        />
        <Button component={Link} to="/admin/invite">
          Invite
        </Button>
      </Group>
      {query.isError ? (
        <Alert color="red" role="alert" title={`${noun} could not be loaded`}>
          {errorText(query.error)}
        </Alert>
      ) : (
        <MembersTable members={query.data} loading={query.isPending} caption={noun} emptyText={removed ? `No removed ${noun.toLowerCase()}.` : `No ${noun.toLowerCase()} yet. Invite someone to add one.`} />
      )}
    </>
  );
}
