/**
 * Bulk invite from a CSV file (`POST /admin/projects/:projectId/invite/bulk`, text/csv): the
 * file is sent in parts of PART_SIZE rows so the progress bar moves, and every row's result
 * is listed (created, already a member, or the error in words).
 */
import type { OperationOutcome } from '@medplum/fhirtypes';
import { Alert, Badge, Button, Code, FileInput, Group, Progress, Stack, Text } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { FormAlert } from '../components/FormAlert';
import { errorText } from '../form-errors';
import { useMedplum } from '../medplum-context';
import { projectPath } from './admin-api';
import { csvParts, splitCsvRecords } from './csv-records';
import { SimpleTable } from './SimpleTable';

const PART_SIZE = 20;

interface RowResult {
  row: number;
  status: 'created' | 'updated' | 'exists' | 'error';
  email?: string;
  membership?: string;
  mail?: string;
  outcome?: OperationOutcome;
}

const STATUS: Record<RowResult['status'], { label: string; color: string }> = {
  created: { label: 'Invited', color: 'green' },
  updated: { label: 'Updated', color: 'blue' },
  exists: { label: 'Already a member', color: 'gray' },
  error: { label: 'Not invited', color: 'red' },
};

function problem(outcome: OperationOutcome | undefined): string {
  return (outcome?.issue ?? []).map((i) => i.details?.text ?? i.diagnostics).filter(Boolean).join('; ');
}

export function BulkInvite({ projectId }: { projectId: string }) {
  const medplum = useMedplum();
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<{ done: number; total: number } | undefined>();
  const [results, setResults] = useState<RowResult[]>([]);
  const [error, setError] = useState<string | undefined>();
  const running = progress !== undefined && progress.done < progress.total && !error;

  async function start(): Promise<void> {
    if (!file) return;
    setError(undefined);
    setResults([]);
    const records = splitCsvRecords(await file.text());
    if (records.records.length === 0) {
      setError('The file has no rows after its header line.');
      return;
    }
    setProgress({ done: 0, total: records.records.length });
    const all: RowResult[] = [];
    try {
      for (const part of csvParts(records, PART_SIZE)) {
        const answer = (await medplum.post(projectPath(projectId, '/invite/bulk'), part.text, 'text/csv')) as { results: RowResult[] };
        all.push(...answer.results.map((r) => ({ ...r, row: r.row + part.first - 1 })));
        setResults([...all]);
        setProgress({ done: part.first - 1 + part.count, total: records.records.length });
      }
    } catch (err) {
      setError(errorText(err));
    }
    await queryClient.invalidateQueries({ queryKey: ['members'] });
  }

  const counts = results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
  return (
    <Stack>
      <Text size="sm">
        A CSV file with a header row naming some of the columns <Code>resourceType,firstName,lastName,email,accessPolicy,admin,sendEmail</Code>. Each row is invited as the form above would;
        rows already members are left as they are, so a file can be sent again.
      </Text>
      <FileInput label="CSV file" accept=".csv,text/csv" value={file} onChange={setFile} clearable placeholder="Choose a file" />
      <Group>
        <Button onClick={() => void start()} disabled={!file} loading={running}>
          Invite everyone in the file
        </Button>
      </Group>
      {error && <FormAlert messages={[error]} title="The import stopped" />}
      {progress && (
        <Stack gap={4}>
          <Progress value={(100 * progress.done) / progress.total} aria-label="Bulk invite progress" />
          <Text size="sm" role="status">
            {progress.done} of {progress.total} rows done
            {progress.done === progress.total && ` · ${counts.created ?? 0} invited, ${counts.exists ?? 0} already members, ${counts.updated ?? 0} updated, ${counts.error ?? 0} not invited`}
          </Text>
        </Stack>
      )}
      {results.length > 0 && (
        <SimpleTable
          caption="Bulk invite results"
          rows={results}
          loading={false}
          rowKey={(r) => String(r.row)}
          emptyText=""
          columns={[
            { header: 'Row', cell: (r) => r.row },
            { header: 'Email', cell: (r) => r.email ?? '—' },
            {
              header: 'Result',
              cell: (r) => (
                <Badge color={STATUS[r.status].color} variant="light">
                  {STATUS[r.status].label}
                </Badge>
              ),
            },
            { header: 'Details', cell: (r) => (r.status === 'error' ? problem(r.outcome) : r.mail === 'sent' ? 'Email sent' : '—') },
          ]}
        />
      )}
      {progress && progress.done === progress.total && (counts.error ?? 0) > 0 && (
        <Alert color="yellow" role="status">
          Fix the rows marked "Not invited" and send the file again: the others will not be invited twice.
        </Alert>
      )}
    </Stack>
  );
}
