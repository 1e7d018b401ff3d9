/**
 * "Preview as this member": asks the server what the member's access policy does with one
 * interaction (`POST .../members/:id/$explain`), using the same rules as enforcement.
 */
import { Alert, Button, Group, List, NativeSelect, Paper, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { useFormAction } from '../account/useFormAction';
import { FormAlert } from '../components/FormAlert';
import { useMedplum } from '../medplum-context';
import { memberPath } from './admin-api';

interface Explanation {
  allowed: boolean;
  decidedBy: { policy: { reference?: string; display?: string }; entry: number } | null;
  reason: string;
  hiddenFields: string[];
}

const INTERACTIONS = ['read', 'search', 'create', 'update', 'delete', 'history', 'vread'];

export function PreviewAsMember({ projectId, membershipId }: { projectId: string; membershipId: string }) {
  const medplum = useMedplum();
  const { errors, busy, run } = useFormAction({ interaction: 'interaction', reference: 'reference', resourceType: 'resourceType', query: 'query' });
  const [interaction, setInteraction] = useState('read');
  const [target, setTarget] = useState('');
  const [query, setQuery] = useState('');
  const [answer, setAnswer] = useState<Explanation | undefined>();
  const isSearch = interaction === 'search';

  function submit(event: FormEvent): void {
    event.preventDefault();
    setAnswer(undefined);
    const body = isSearch ? { interaction, resourceType: target.trim(), query: query.trim() } : { interaction, reference: target.trim() };
    void run(async () => setAnswer((await medplum.post(memberPath(projectId, membershipId, '/$explain'), body)) as Explanation));
  }

  return (
    <Paper p="md" withBorder>
      <Title order={2} size="h4" mb="xs">
        Preview as this member
      </Title>
      <Text size="sm" c="dimmed" mb="sm">
        Ask whether this member may do something, and which rule of their access policy decides it. Nothing is changed.
      </Text>
      <form onSubmit={submit} noValidate aria-label="Preview as this member">
        <Stack>
          <FormAlert messages={errors.general} title="No answer" />
          <Group align="start" grow preventGrowOverflow={false} wrap="wrap">
            <NativeSelect label="Interaction" data={INTERACTIONS} value={interaction} onChange={(e) => setInteraction(e.currentTarget.value)} error={errors.fields.interaction} />
            <TextInput
              label={isSearch ? 'Resource type' : 'Resource'}
              placeholder={isSearch ? 'Observation' : 'Patient/123 or Patient (to create)'}
              value={target}
              onChange={(e) => setTarget(e.currentTarget.value)}
              error={isSearch ? errors.fields.resourceType : errors.fields.reference}
            />
            {isSearch && <TextInput label="Search" placeholder="code=1234-5" value={query} onChange={(e) => setQuery(e.currentTarget.value)} error={errors.fields.query} />}
          </Group>
          <Group>
            <Button type="submit" variant="light" loading={busy}>
              Check
            </Button>
          </Group>
          {answer && (
            <Alert color={answer.allowed ? 'green' : 'red'} title={answer.allowed ? 'Allowed' : 'Refused'} role="status">
              <Text size="sm">{answer.reason}</Text>
              {answer.decidedBy && (
                <Text size="sm">
                  Decided by entry {answer.decidedBy.entry + 1} of {answer.decidedBy.policy.display ?? answer.decidedBy.policy.reference}.
                </Text>
              )}
              {answer.hiddenFields.length > 0 && (
                <>
                  <Text size="sm">Hidden from this member:</Text>
                  <List size="sm">
                    {answer.hiddenFields.map((f) => (
                      <List.Item key={f}>{f}</List.Item>
                    ))}
                  </List>
                </>
              )}
            </Alert>
          )}
        </Stack>
      </form>
    </Paper>
  );
}
