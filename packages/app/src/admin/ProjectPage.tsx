/**
 * Project admin (`/admin/project`, `/admin/users`, ...): the project's name and tabs Details,
 * Users, Patients, Clients, Bots, Access policies, Audit log. Each tab has its own address,
 * so it can be linked and the back button works.
 */
import { Alert, Loader, Table, Tabs } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useNavigate, useParams } from 'react-router';
import { PageTitle } from '../components/PageTitle';
import { errorText } from '../form-errors';
import { useMedplum, useSignIn } from '../medplum-context';
import { readProject } from './admin-api';
import { MembersTab } from './MembersTab';
import { BotsTab } from './BotsTab';
import { ClientsTab } from './ClientsTab';
import { AccessPoliciesTab, AuditLogTab } from './ResourceTabs';

export const PROJECT_TABS = [
  { value: 'project', label: 'Details' },
  { value: 'users', label: 'Users' },
  { value: 'patients', label: 'Patients' },
  { value: 'clients', label: 'Clients' },
  { value: 'bots', label: 'Bots' },
  { value: 'policies', label: 'Access policies' },
  { value: 'audit', label: 'Audit log' },
] as const;

function DetailsTab({ projectId }: { projectId: string }) {
  const medplum = useMedplum();
  const q = useQuery({ queryKey: ['project', projectId], queryFn: () => readProject(medplum, projectId) });
  if (q.isPending) return <Loader aria-label="Loading the project" />;
  if (q.isError) {
    return (
      <Alert color="red" role="alert" title="The project could not be loaded">
        {errorText(q.error)}
      </Alert>
    );
  }
  const p = q.data;
  return (
    <Table variant="vertical" withTableBorder aria-label="Project details" maw={720}>
      <Table.Tbody>
        <Table.Tr>
          <Table.Th w={180}>Name</Table.Th>
          <Table.Td>{p.name}</Table.Td>
        </Table.Tr>
        <Table.Tr>
          <Table.Th>Description</Table.Th>
          <Table.Td>{p.description ?? '—'}</Table.Td>
        </Table.Tr>
        <Table.Tr>
          <Table.Th>Project id</Table.Th>
          <Table.Td>{p.id}</Table.Td>
        </Table.Tr>
        <Table.Tr>
          <Table.Th>Owner</Table.Th>
          <Table.Td>{p.owner?.display ?? p.owner?.reference ?? '—'}</Table.Td>
        </Table.Tr>
        <Table.Tr>
          <Table.Th>Last changed</Table.Th>
          <Table.Td>{p.meta?.lastUpdated ? new Date(p.meta.lastUpdated).toLocaleString() : '—'}</Table.Td>
        </Table.Tr>
      </Table.Tbody>
    </Table>
  );
}

export function ProjectPage() {
  const { project } = useSignIn();
  const { tab = 'project' } = useParams();
  const navigate = useNavigate();
  const projectId = project?.id ?? '';
  const current = PROJECT_TABS.some((t) => t.value === tab) ? tab : 'project';
  return (
    <>
      <PageTitle>{project?.name ? `Project: ${project.name}` : 'Project'}</PageTitle>
      <Tabs value={current} onChange={(v) => v && navigate(`/admin/${v}`)} keepMounted={false}>
        <Tabs.List mb="md" style={{ overflowX: 'auto', flexWrap: 'nowrap' }}>
          {PROJECT_TABS.map((t) => (
            <Tabs.Tab key={t.value} value={t.value}>
              {t.label}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        <Tabs.Panel value="project">
          <DetailsTab projectId={projectId} />
        </Tabs.Panel>
        <Tabs.Panel value="users">
          <MembersTab projectId={projectId} types={['Practitioner', 'RelatedPerson']} noun="Users" />
        </Tabs.Panel>
        <Tabs.Panel value="patients">
          <MembersTab projectId={projectId} types={['Patient']} noun="Patients" />
        </Tabs.Panel>
        <Tabs.Panel value="clients">
          <ClientsTab projectId={projectId} />
        </Tabs.Panel>
        <Tabs.Panel value="bots">
          <BotsTab projectId={projectId} />
        </Tabs.Panel>
        <Tabs.Panel value="policies">
          <AccessPoliciesTab />
        </Tabs.Panel>
        <Tabs.Panel value="audit">
          <AuditLogTab />
        </Tabs.Panel>
      </Tabs>
    </>
  );
}
