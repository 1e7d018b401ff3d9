/** The Access policies and Audit log tabs: FHIR searches shown as tables. */
import type { AccessPolicy, AuditEvent, Resource } from '@medplum/fhirtypes';
import { Anchor, Button, Code, Group, Stack } from '@mantine/core';
import { Link } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { useMedplum } from '../medplum-context';
import { SimpleTable } from './SimpleTable';

function useSearch<T extends Resource>(resourceType: T['resourceType'], query: string) {
  const medplum = useMedplum();
  return useQuery({
    queryKey: ['search', resourceType, query],
    queryFn: async () => {
      const bundle = await medplum.search(resourceType as 'Patient', query, { cache: 'no-cache' });
      return (bundle.entry ?? []).map((e) => e.resource as unknown as T);
    },
  });
}

function when(instant: string | undefined): string {
  return instant ? new Date(instant).toLocaleString() : '—';
}

export function AccessPoliciesTab() {
  const q = useSearch<AccessPolicy>('AccessPolicy', '_count=100');
  return (
    <Stack>
      <Group>
        <Button component={Link} to="/admin/policies/new">
          New access policy
        </Button>
      </Group>
      <SimpleTable
      caption="Access policies"
      rows={q.data}
      loading={q.isPending}
      error={q.error}
      rowKey={(r) => r.id ?? ''}
      emptyText="No access policies yet. Members without one can read and write everything in the project."
      columns={[
        {
          header: 'Name',
          cell: (r) => (
            <Anchor component={Link} to={`/admin/policies/${r.id}`}>
              {r.name ?? r.id}
            </Anchor>
          ),
        },
        { header: 'Resource types', cell: (r) => (r.resource ?? []).map((x) => x.resourceType + (x.readonly ? ' (read only)' : '')).join(', ') || '—' },
        { header: 'Id', cell: (r) => <Code>{r.id}</Code> },
      ]}
      />
    </Stack>
  );
}

export function AuditLogTab() {
  const q = useSearch<AuditEvent>('AuditEvent', '_sort=-_lastUpdated&_count=50');
  return (
    <SimpleTable
      caption="Audit log"
      rows={q.data}
      loading={q.isPending}
      error={q.error}
      rowKey={(r) => r.id ?? ''}
      emptyText="Nothing recorded yet."
      columns={[
        { header: 'When', cell: (r) => when(r.recorded) },
        { header: 'What', cell: (r) => r.subtype?.[0]?.display ?? r.subtype?.[0]?.code ?? r.type?.display ?? r.type?.code ?? '—' },
        { header: 'Who', cell: (r) => r.agent?.[0]?.who?.display ?? r.agent?.[0]?.who?.reference ?? '—' },
        { header: 'Whom', cell: (r) => (r.entity ?? []).map((e) => e.what?.display ?? e.what?.reference).filter(Boolean).join(', ') || '—' },
        { header: 'Outcome', cell: (r) => r.outcomeDesc ?? (r.outcome === '0' ? 'Success' : r.outcome ? 'Failure' : '—') },
      ]}
    />
  );
}
