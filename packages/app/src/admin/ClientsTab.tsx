/**
 * Client applications: list (FHIR search), create (the secret shown once), rotate the secret
 * (shown once again), disable and enable, through `/admin/projects/:projectId/client...`.
 */
import type { ClientApplication } from '@medplum/fhirtypes';
import { Button, Code, Group, Paper, Stack, TextInput, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useFormAction } from '../account/useFormAction';
import { FormAlert } from '../components/FormAlert';
import { useMedplum } from '../medplum-context';
import { projectPath } from './admin-api';
import { SecretReveal } from './SecretReveal';
import { SimpleTable } from './SimpleTable';

const FIELDS = { name: 'name', description: 'description', redirectUri: 'redirectUri' };

export function ClientsTab({ projectId }: { projectId: string }) {
  const medplum = useMedplum();
  const queryClient = useQueryClient();
  const clients = useQuery({
    queryKey: ['search', 'ClientApplication', projectId],
    queryFn: async () => (await medplum.searchResources('ClientApplication', '_count=100&_sort=name', { cache: 'no-cache' })) as ClientApplication[],
  });
  const create = useFormAction(FIELDS);
  const action = useFormAction({});
  const [values, setValues] = useState({ name: '', description: '', redirectUri: '' });
  const [revealed, setRevealed] = useState<{ id: string; secret: string } | undefined>();

  async function reload(): Promise<void> {
    await queryClient.invalidateQueries({ queryKey: ['search', 'ClientApplication'] });
  }

  function submit(event: FormEvent): void {
    event.preventDefault();
    void create.run(async () => {
      const body = { name: values.name.trim(), ...(values.description.trim() ? { description: values.description.trim() } : {}), ...(values.redirectUri.trim() ? { redirectUri: values.redirectUri.trim() } : {}) };
      const client = (await medplum.post(projectPath(projectId, '/client'), body)) as ClientApplication;
      setRevealed({ id: client.id ?? '', secret: client.secret ?? '' });
      setValues({ name: '', description: '', redirectUri: '' });
      await reload();
    });
  }

  function rotate(client: ClientApplication): void {
    if (!window.confirm(`Make a new secret for "${client.name ?? client.id}"? The current secret stops working at once.`)) return;
    void action.run(async () => {
      const updated = (await medplum.post(projectPath(projectId, `/client/${client.id}/rotate-secret`), {})) as ClientApplication;
      setRevealed({ id: updated.id ?? '', secret: updated.secret ?? '' });
      await reload();
    });
  }

  function setStatus(client: ClientApplication, status: 'disable' | 'enable'): void {
    void action.run(async () => {
      await medplum.post(projectPath(projectId, `/client/${client.id}/${status}`), {});
      await reload();
    });
  }

  return (
    <Stack>
      {revealed && <SecretReveal clientId={revealed.id} secret={revealed.secret} onDone={() => setRevealed(undefined)} />}
      <FormAlert messages={action.errors.general} title="That did not work" />
      <SimpleTable
        caption="Clients"
        rows={clients.data}
        loading={clients.isPending}
        error={clients.error}
        rowKey={(r) => r.id ?? ''}
        emptyText="No client applications yet."
        columns={[
          { header: 'Name', cell: (r) => r.name ?? '—' },
          { header: 'Client id', cell: (r) => <Code>{r.id}</Code> },
          { header: 'Redirect URI', cell: (r) => r.redirectUri ?? '—' },
          { header: 'Status', cell: (r) => (r.status === 'off' ? 'Disabled' : 'Active') },
          {
            header: 'Actions',
            cell: (r) => (
              <Group gap="xs" wrap="nowrap">
                <Button size="compact-xs" variant="default" onClick={() => rotate(r)} aria-label={`Rotate the secret of ${r.name ?? r.id}`}>
                  Rotate secret
                </Button>
                {r.status === 'off' ? (
                  <Button size="compact-xs" variant="default" onClick={() => setStatus(r, 'enable')} aria-label={`Enable ${r.name ?? r.id}`}>
                    Enable
                  </Button>
                ) : (
                  <Button size="compact-xs" color="red" variant="outline" onClick={() => setStatus(r, 'disable')} aria-label={`Disable ${r.name ?? r.id}`}>
                    Disable
                  </Button>
                )}
              </Group>
            ),
          },
        ]}
      />
      <Paper withBorder p="md" maw={640}>
        <Title order={2} size="h4" mb="sm">
          New client application
        </Title>
        <form onSubmit={submit} noValidate aria-label="New client application">
          <Stack>
            <FormAlert messages={create.errors.general} title="Not created" />
            <TextInput label="Name" required value={values.name} onChange={(e) => setValues({ ...values, name: e.currentTarget.value })} error={create.errors.fields.name} />
            <TextInput label="Description" value={values.description} onChange={(e) => setValues({ ...values, description: e.currentTarget.value })} error={create.errors.fields.description} />
            <TextInput label="Redirect URI" description="For the authorization code flow; leave empty for server-to-server use" value={values.redirectUri} onChange={(e) => setValues({ ...values, redirectUri: e.currentTarget.value })} error={create.errors.fields.redirectUri} />
            <Group>
              <Button type="submit" loading={create.busy}>
                Create client
              </Button>
            </Group>
          </Stack>
        </form>
      </Paper>
    </Stack>
  );
}
