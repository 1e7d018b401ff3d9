/** Bots: list (FHIR search) and create (`POST /admin/projects/:projectId/bot`). */
import type { Bot } from '@medplum/fhirtypes';
import { Button, Code, Group, Paper, Stack, TextInput, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useFormAction } from '../account/useFormAction';
import { FormAlert } from '../components/FormAlert';
import { useMedplum } from '../medplum-context';
import { projectPath } from './admin-api';
import { SimpleTable } from './SimpleTable';

export function BotsTab({ projectId }: { projectId: string }) {
  const medplum = useMedplum();
  const queryClient = useQueryClient();
  const bots = useQuery({
    queryKey: ['search', 'Bot', projectId],
    queryFn: async () => (await medplum.searchResources('Bot', '_count=100&_sort=name', { cache: 'no-cache' })) as Bot[],
  });
  const create = useFormAction({ name: 'name', description: 'description' });
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');

  function submit(event: FormEvent): void {
    event.preventDefault();
    void create.run(async () => {
      await medplum.post(projectPath(projectId, '/bot'), { name: name.trim(), ...(description.trim() ? { description: description.trim() } : {}) });
      setName('');
      setDescription('');
      await queryClient.invalidateQueries({ queryKey: ['search', 'Bot'] });
    });
  }

  return (
    <Stack>
      <SimpleTable
        caption="Bots"
        rows={bots.data}
        loading={bots.isPending}
        error={bots.error}
        rowKey={(r) => r.id ?? ''}
        emptyText="No bots yet."
        columns={[
          { header: 'Name', cell: (r) => r.name ?? '—' },
          { header: 'Id', cell: (r) => <Code>{r.id}</Code> },
          { header: 'Description', cell: (r) => r.description ?? '—' },
        ]}
      />
      <Paper withBorder p="md" maw={640}>
        <Title order={2} size="h4" mb="sm">
          New bot
        </Title>
        <form onSubmit={submit} noValidate aria-label="New bot">
          <Stack>
            <FormAlert messages={create.errors.general} title="Not created" />
            <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} error={create.errors.fields.name} />
            <TextInput label="Description" value={description} onChange={(e) => setDescription(e.currentTarget.value)} error={create.errors.fields.description} />
            <Group>
              <Button type="submit" loading={create.busy}>
                Create bot
              </Button>
            </Group>
          </Stack>
        </form>
      </Paper>
    </Stack>
  );
}
