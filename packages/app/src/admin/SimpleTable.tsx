/** A small table of rows with loading, error and empty states, for the project admin's lists. */
import { Alert, Center, Loader, Table, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import { errorText } from '../form-errors';

export interface Column<T> {
  header: string;
  cell: (row: T) => ReactNode;
}

export interface SimpleTableProps<T> {
  caption: string;
  rows: T[] | undefined;
  columns: Column<T>[];
  rowKey: (row: T) => string;
  loading: boolean;
  error?: unknown;
  emptyText: string;
}

export function SimpleTable<T>({ caption, rows, columns, rowKey, loading, error, emptyText }: SimpleTableProps<T>) {
  if (loading) {
    return (
      <Center p="lg">
        <Loader aria-label={`Loading ${caption.toLowerCase()}`} />
      </Center>
    );
  }
  if (error) {
    return (
      <Alert color="red" role="alert" title={`${caption} could not be loaded`}>
        {errorText(error)}
      </Alert>
    );
  }
  if (!rows || rows.length === 0) {
    return (
      <Text c="dimmed" p="md" role="status">
        {emptyText}
      </Text>
    );
  }
  return (
    <Table.ScrollContainer minWidth={560}>
      <Table striped aria-label={caption}>
        <Table.Thead>
          <Table.Tr>
            {columns.map((c) => (
              <Table.Th key={c.header}>{c.header}</Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((row) => (
            <Table.Tr key={rowKey(row)}>
              {columns.map((c) => (
                <Table.Td key={c.header}>{c.cell(row)}</Table.Td>
              ))}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
