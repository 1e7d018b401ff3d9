/**
 * A resource's page (`/:resourceType/:id`): details, an edit form (Patient, Practitioner,
 * RelatedPerson: names, email, phone, birth date, gender; saved with PUT, the server's
 * errors shown), its history, and its JSON. Resource data is rendered as text only.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { Alert, Button, Code, Group, Loader, NativeSelect, SimpleGrid, Stack, Table, Tabs, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { useFormAction } from '../account/useFormAction';
import { FormAlert } from '../components/FormAlert';
import { PageTitle } from '../components/PageTitle';
import { errorText } from '../form-errors';
import { useMedplum } from '../medplum-context';
import { applyValues, PERSON_TYPES, personName, valuesOf, type Person, type PersonValues } from './person-fields';

function when(instant: string | undefined): string {
  return instant ? new Date(instant).toLocaleString() : '—';
}

function EditPerson({ resource, onSaved }: { resource: Person; onSaved: () => Promise<unknown> }) {
  const medplum = useMedplum();
  const [values, setValues] = useState<PersonValues>(() => valuesOf(resource));
  const [saved, setSaved] = useState(false);
  useEffect(() => setValues(valuesOf(resource)), [resource]);
  const { errors, busy, run } = useFormAction({ name: 'family', 'name.given': 'given', 'name.family': 'family', telecom: 'email', birthDate: 'birthDate', gender: 'gender' });
  const set = (field: keyof PersonValues) => (e: { currentTarget: { value: string } }) => {
    const value = e.currentTarget.value;
    setValues((v) => ({ ...v, [field]: value }));
  };
  function submit(event: FormEvent): void {
    event.preventDefault();
    setSaved(false);
    void run(async () => {
      await medplum.updateResource(applyValues(resource, values));
      await onSaved();
      setSaved(true);
    });
  }
  return (
    <form onSubmit={submit} noValidate aria-label="Edit">
      <Stack maw={640}>
        {saved && (
          <Alert color="green" role="status">
            Saved as a new version.
          </Alert>
        )}
        <FormAlert messages={errors.general} />
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label="Given names" value={values.given} onChange={set('given')} error={errors.fields.given} />
          <TextInput label="Family name" value={values.family} onChange={set('family')} error={errors.fields.family} />
          <TextInput label="Email" type="email" value={values.email} onChange={set('email')} error={errors.fields.email} />
          <TextInput label="Phone" type="tel" value={values.phone} onChange={set('phone')} />
          <TextInput label="Birth date" type="date" value={values.birthDate} onChange={set('birthDate')} error={errors.fields.birthDate} />
          <NativeSelect
            label="Gender"
            value={values.gender}
            onChange={set('gender')}
            error={errors.fields.gender}
            data={[
              { value: '', label: 'Not given' },
              { value: 'female', label: 'Female' },
              { value: 'male', label: 'Male' },
              { value: 'other', label: 'Other' },
              { value: 'unknown', label: 'Unknown' },
            ]}
          />
        </SimpleGrid>
        <Group>
          <Button type="submit" loading={busy}>
            Save
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function History({ resourceType, id }: { resourceType: string; id: string }) {
  const medplum = useMedplum();
  const q = useQuery({
    queryKey: ['history', resourceType, id],
    queryFn: () => medplum.get<Bundle>(`fhir/R4/${resourceType}/${id}/_history`, { cache: 'no-cache' }),
  });
  if (q.isPending) return <Loader aria-label="Loading the history" />;
  if (q.isError) return <Alert color="red" role="alert" title="The history could not be loaded">{errorText(q.error)}</Alert>;
  return (
    <Table striped aria-label="History" maw={640}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Version</Table.Th>
          <Table.Th>When</Table.Th>
          <Table.Th>Change</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {(q.data.entry ?? []).map((e, i) => (
          <Table.Tr key={e.resource?.meta?.versionId ?? i}>
            <Table.Td>{e.resource?.meta?.versionId ?? '—'}</Table.Td>
            <Table.Td>{when(e.resource?.meta?.lastUpdated ?? e.response?.lastModified)}</Table.Td>
            <Table.Td>{e.request?.method === 'DELETE' || !e.resource ? 'Deleted' : i === (q.data.entry?.length ?? 0) - 1 ? 'Created' : 'Updated'}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export function ResourcePage() {
  const medplum = useMedplum();
  const { resourceType = '', id = '' } = useParams();
  const q = useQuery({
    queryKey: ['read', resourceType, id],
    queryFn: () => medplum.readResource(resourceType as 'Patient', id, { cache: 'no-cache' }) as Promise<Resource>,
    retry: false,
  });
  const editable = (PERSON_TYPES as readonly string[]).includes(resourceType);
  if (q.isPending) return <Loader aria-label="Loading" />;
  if (q.isError) {
    return (
      <>
        <PageTitle>{`${resourceType} ${id}`}</PageTitle>
        <Alert color="red" role="alert" title="This resource could not be read">
          {errorText(q.error)}
        </Alert>
      </>
    );
  }
  const r = q.data;
  const person = editable ? (r as Person) : undefined;
  return (
    <>
      <PageTitle>{(person && personName(person)) || ('name' in r && typeof r.name === 'string' ? r.name : `${resourceType} ${id}`)}</PageTitle>
      <Tabs defaultValue="details" keepMounted={false}>
        <Tabs.List mb="md">
          <Tabs.Tab value="details">Details</Tabs.Tab>
          {person && <Tabs.Tab value="edit">Edit</Tabs.Tab>}
          <Tabs.Tab value="history">History</Tabs.Tab>
          <Tabs.Tab value="json">JSON</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="details">
          <Table variant="vertical" withTableBorder aria-label="Details" maw={760}>
            <Table.Tbody>
              <Table.Tr>
                <Table.Th w={160}>Type</Table.Th>
                <Table.Td>{r.resourceType}</Table.Td>
              </Table.Tr>
              <Table.Tr>
                <Table.Th>Id</Table.Th>
                <Table.Td>{r.id}</Table.Td>
              </Table.Tr>
              {person?.telecom?.map((t) => (
                <Table.Tr key={`${t.system}:${t.value}`}>
                  <Table.Th>{t.system ?? 'Contact'}</Table.Th>
                  <Table.Td>{t.value}</Table.Td>
                </Table.Tr>
              ))}
              {person?.birthDate && (
                <Table.Tr>
                  <Table.Th>Birth date</Table.Th>
                  <Table.Td>{person.birthDate}</Table.Td>
                </Table.Tr>
              )}
              <Table.Tr>
                <Table.Th>Version</Table.Th>
                <Table.Td>
                  {r.meta?.versionId} <Text span c="dimmed" size="sm">({when(r.meta?.lastUpdated)})</Text>
                </Table.Td>
              </Table.Tr>
            </Table.Tbody>
          </Table>
        </Tabs.Panel>
        {person && (
          <Tabs.Panel value="edit">
            <EditPerson resource={person} onSaved={() => q.refetch()} />
          </Tabs.Panel>
        )}
        <Tabs.Panel value="history">
          <History resourceType={resourceType} id={id} />
        </Tabs.Panel>
        <Tabs.Panel value="json">
          <Code block style={{ maxHeight: 560, overflow: 'auto' }}>
            {JSON.stringify(r, null, 2)}
          </Code>
        </Tabs.Panel>
      </Tabs>
    </>
  );
}
