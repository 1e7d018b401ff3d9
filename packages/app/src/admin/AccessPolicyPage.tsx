/**
 * Create or edit an access policy (`/admin/policies/new`, `/admin/policies/:id`), entry by
 * entry: resource type, criteria, read only, hidden fields. Saved through FHIR (POST or PUT
 * /fhir/R4/AccessPolicy); the server's validation errors are shown on the entry they name.
 */
import type { AccessPolicy } from '@medplum/fhirtypes';
import { Alert, Anchor, Button, Checkbox, Group, Loader, Paper, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { FormAlert } from '../components/FormAlert';
import { PageTitle } from '../components/PageTitle';
import { errorText } from '../form-errors';
import { useMedplum } from '../medplum-context';
import { entriesOf, newEntry, policyFrom, readPolicyErrors, type EntryDraft, type PolicyErrors } from './policy-form';

const NO_ERRORS: PolicyErrors = { general: [], entries: {} };

export function AccessPolicyPage() {
  const medplum = useMedplum();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { id = 'new' } = useParams();
  const isNew = id === 'new';
  const loaded = useQuery({
    queryKey: ['read', 'AccessPolicy', id],
    queryFn: () => medplum.readResource('AccessPolicy', id, { cache: 'no-cache' }),
    enabled: !isNew,
    retry: false,
  });
  const [name, setName] = useState('');
  const [entries, setEntries] = useState<EntryDraft[]>(() => [newEntry('Patient')]);
  const [errors, setErrors] = useState<PolicyErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (loaded.data) {
      setName(loaded.data.name ?? '');
      setEntries(entriesOf(loaded.data));
    }
  }, [loaded.data]);

  function update(index: number, change: Partial<EntryDraft>): void {
    setEntries((list) => list.map((e, i) => (i === index ? { ...e, ...change } : e)));
  }

  async function submit(event: FormEvent): Promise<void> {
    event.preventDefault();
    setBusy(true);
    setSaved(false);
    setErrors(NO_ERRORS);
    try {
      const policy = policyFrom(loaded.data, name, entries);
      const result: AccessPolicy = isNew ? await medplum.createResource(policy) : await medplum.updateResource({ ...policy, id });
      await queryClient.invalidateQueries({ queryKey: ['search', 'AccessPolicy'] });
      setSaved(true);
      if (isNew) navigate(`/admin/policies/${result.id}`, { replace: true });
      else await loaded.refetch();
    } catch (err) {
      setErrors(readPolicyErrors(err));
    } finally {
      setBusy(false);
    }
  }

  if (!isNew && loaded.isPending) return <Loader aria-label="Loading the access policy" />;
  if (!isNew && loaded.isError) {
    return (
      <>
        <PageTitle>Access policy</PageTitle>
        <Alert color="red" role="alert" title="This access policy could not be loaded">
          {errorText(loaded.error)}
        </Alert>
      </>
    );
  }

  return (
    <>
      <PageTitle>{isNew ? 'New access policy' : `Access policy: ${loaded.data?.name ?? id}`}</PageTitle>
      <form onSubmit={(e) => void submit(e)} noValidate aria-label="Access policy">
        <Stack maw={860}>
          {saved && (
            <Alert color="green" role="status">
              Saved. Members with this policy get the new rules on their next request.
            </Alert>
          )}
          <FormAlert messages={errors.general} />
          <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} error={errors.name} maw={480} />
          <Text size="sm" c="dimmed">
            Each entry lets members read (and, unless read only, write) one resource type, optionally only the resources that match its criteria, such as{' '}
            <code>Observation?subject=%patient</code>. Types with no entry are out of reach.
          </Text>
          {entries.map((entry, i) => (
            <Paper key={entry.key} withBorder p="md" component="fieldset" aria-label={`Entry ${i + 1}`}>
              <SimpleGrid cols={{ base: 1, sm: 2 }}>
                <TextInput label={`Entry ${i + 1}: resource type`} description="A FHIR resource type, or * for every type" required value={entry.resourceType} onChange={(e) => update(i, { resourceType: e.currentTarget.value })} error={errors.entries[i]?.resourceType} />
                <TextInput label={`Entry ${i + 1}: criteria`} description="Optional: a search that resources must match" value={entry.criteria} onChange={(e) => update(i, { criteria: e.currentTarget.value })} error={errors.entries[i]?.criteria} />
                <TextInput label={`Entry ${i + 1}: hidden fields`} description="Optional, comma-separated: name.family, birthDate" value={entry.hiddenFields} onChange={(e) => update(i, { hiddenFields: e.currentTarget.value })} error={errors.entries[i]?.hiddenFields} />
                <Group align="end" justify="space-between">
                  <Checkbox label={`Entry ${i + 1}: read only`} checked={entry.readonly} onChange={(e) => update(i, { readonly: e.currentTarget.checked })} />
                  <Button variant="subtle" color="red" size="xs" onClick={() => setEntries((list) => list.filter((_, j) => j !== i))}>
                    Remove entry {i + 1}
                  </Button>
                </Group>
              </SimpleGrid>
            </Paper>
          ))}
          <Group>
            <Button variant="default" onClick={() => setEntries((list) => [...list, newEntry()])}>
              Add entry
            </Button>
            <Button type="submit" loading={busy}>
              Save policy
            </Button>
            <Anchor component={Link} to="/admin/policies">
              Back to access policies
            </Anchor>
          </Group>
        </Stack>
      </form>
    </>
  );
}
