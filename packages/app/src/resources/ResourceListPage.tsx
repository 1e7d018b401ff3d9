/**
 * Patients, Practitioners, RelatedPersons (`/Patient`, ...): a FHIR search with a name
 * filter, a sort order and paging through the Bundle's next/previous links.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { Alert, Anchor, Button, Center, Group, Loader, NativeSelect, Table, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { PageTitle } from '../components/PageTitle';
import { errorText } from '../form-errors';
import { useMedplum } from '../medplum-context';
import { PERSON_TYPES, personName, type Person } from './person-fields';

const TITLES: Record<string, string> = { Patient: 'Patients', Practitioner: 'Practitioners', RelatedPerson: 'Related persons' };
const PAGE_SIZE = 20;

export function ResourceListPage({ resourceType }: { resourceType: (typeof PERSON_TYPES)[number] }) {
  const medplum = useMedplum();
  const [draft, setDraft] = useState('');
  const [name, setName] = useState('');
  const [sort, setSort] = useState('-_lastUpdated');
  const [pageUrl, setPageUrl] = useState<string | undefined>();
  const first = `fhir/R4/${resourceType}?${new URLSearchParams({ _count: String(PAGE_SIZE), _sort: sort, ...(name ? { name } : {}) })}`;
  const q = useQuery({
    queryKey: ['list', resourceType, pageUrl ?? first],
    queryFn: () => medplum.get<Bundle<Person>>(pageUrl ?? first, { cache: 'no-cache' }),
  });
  const link = (rel: string) => q.data?.link?.find((l) => l.relation === rel)?.url;

  function search(event: FormEvent): void {
    event.preventDefault();
    setName(draft.trim());
    setPageUrl(undefined);
  }

  const rows = (q.data?.entry ?? []).map((e) => e.resource).filter((r): r is Person => !!r);
  return (
    <>
      <PageTitle>{TITLES[resourceType] ?? resourceType}</PageTitle>
      <form onSubmit={search} role="search" aria-label={`Search ${TITLES[resourceType]?.toLowerCase()}`}>
        <Group align="end" mb="md">
          <TextInput label="Name" placeholder="Part of a name" value={draft} onChange={(e) => setDraft(e.currentTarget.value)} />
          <NativeSelect
            label="Sort by"
            value={sort}
            onChange={(e) => {
              setSort(e.currentTarget.value);
              setPageUrl(undefined);
            }}
            data={[
              { value: '-_lastUpdated', label: 'Last changed' },
              { value: 'family', label: 'Family name' },
              { value: 'given', label: 'Given name' },
            ]}
          />
          <Button type="submit">Search</Button>
        </Group>
      </form>
      {q.isPending ? (
        <Center p="lg">
          <Loader aria-label="Loading" />
        </Center>
      ) : q.isError ? (
        <Alert color="red" role="alert" title="The list could not be loaded">
          {errorText(q.error)}
        </Alert>
      ) : rows.length === 0 ? (
        <Text c="dimmed" role="status">
          {name ? `Nobody named "${name}".` : `No ${TITLES[resourceType]?.toLowerCase()} yet.`}
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={560}>
          <Table striped aria-label={TITLES[resourceType]}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Birth date</Table.Th>
                <Table.Th>Email</Table.Th>
                <Table.Th>Last changed</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((r) => (
                <Table.Tr key={r.id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/${resourceType}/${r.id}`}>
                      {personName(r) || r.id}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{r.birthDate ?? '—'}</Table.Td>
                  <Table.Td>{r.telecom?.find((t) => t.system === 'email')?.value ?? '—'}</Table.Td>
                  <Table.Td>{r.meta?.lastUpdated ? new Date(r.meta.lastUpdated).toLocaleString() : '—'}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <Group mt="md">
        <Button variant="default" disabled={!link('previous')} onClick={() => setPageUrl(link('previous'))}>
          Previous page
        </Button>
        <Button variant="default" disabled={!link('next')} onClick={() => setPageUrl(link('next'))}>
          Next page
        </Button>
      </Group>
    </>
  );
}
