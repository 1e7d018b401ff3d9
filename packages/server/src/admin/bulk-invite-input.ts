/**
 * The rows of a bulk invite, from any of three formats, each row an invite body as
 * `POST /invite` takes it (invite-input.ts checks each one):
 * - a JSON array of invite bodies (`application/json`);
 * - NDJSON, one invite body per line (`application/x-ndjson`, `.ndjson` files);
 * - CSV (`text/csv`, RFC 4180: quoted fields, doubled quotes, CRLF or LF) with a header row
 *   naming some of the columns `resourceType,firstName,lastName,email,externalId,accessPolicy,
 *   admin,sendEmail`. Empty cells are absent; `accessPolicy` is an id or `AccessPolicy/<id>`;
 *   `admin` and `sendEmail` are `true`/`false`.
 * A line that cannot be read becomes that row's error; only a body that is not one of these
 * formats at all (or an unknown CSV column) refuses the whole request.
 */
import { parseJsonBody } from '../http/json-body.js';
import { badRequest, OutcomeError } from '../fhir/outcomes.js';

export const CSV_COLUMNS = ['resourceType', 'firstName', 'lastName', 'email', 'externalId', 'accessPolicy', 'admin', 'sendEmail'] as const;

/** An invite body is a few levels deep; an NDJSON line nested deeper than this is refused before parsing. */
const ROW_MAX_DEPTH = 16;

/** The most rows one request (or one CLI run, per call) may carry. */
export const BULK_MAX_ROWS = 10_000;

export interface BulkRow {
  /** 1-based: the array index + 1, the NDJSON line, or the CSV record after the header. */
  row: number;
  body?: unknown;
  /** Why the row could not be read (malformed JSON, a CSV record of the wrong width). */
  error?: string;
}

export type BulkFormat = 'json' | 'ndjson' | 'csv';

export function formatOfContentType(contentType: string | undefined): BulkFormat | undefined {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/json' || type === 'application/fhir+json') return 'json';
  if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/fhir+ndjson') return 'ndjson';
  if (type === 'text/csv') return 'csv';
  return undefined;
}

export function formatOfFileName(name: string): BulkFormat | undefined {
  if (/\.csv$/i.test(name)) return 'csv';
  if (/\.ndjson$/i.test(name)) return 'ndjson';
  if (/\.json$/i.test(name)) return 'json';
  return undefined;
}

function limitRows(rows: BulkRow[]): BulkRow[] {
  if (rows.length === 0) throw badRequest('There are no rows to invite');
  if (rows.length > BULK_MAX_ROWS) throw badRequest(`At most ${BULK_MAX_ROWS} rows at a time; this has ${rows.length}`);
  return rows;
}

/** Rows of an already parsed JSON body (the server's JSON parser checked it): an array of invite bodies. */
export function rowsOfJson(body: unknown): BulkRow[] {
  if (!Array.isArray(body)) throw badRequest('A JSON bulk invite is an array of invite bodies');
  return limitRows(body.map((b, i) => ({ row: i + 1, body: b })));
}

export function rowsOfNdjson(text: string): BulkRow[] {
  const rows: BulkRow[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      rows.push({ row: i + 1, body: parseJsonBody(Buffer.from(line, 'utf8'), ROW_MAX_DEPTH) });
    } catch (err) {
      rows.push({ row: i + 1, error: err instanceof OutcomeError ? err.message : 'not JSON' });
    }
  });
  return limitRows(rows);
}

/** RFC 4180 records: fields split on commas outside quotes, `""` inside quotes is one quote. */
export function parseCsvRecords(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (quoted) throw badRequest('The CSV ends inside a quoted field');
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records.filter((r) => !(r.length === 1 && r[0]?.trim() === ''));
}

function csvValue(column: (typeof CSV_COLUMNS)[number], value: string): unknown {
  if (column === 'accessPolicy') return { reference: value.includes('/') ? value : `AccessPolicy/${value}` };
  // Booleans as JSON booleans; anything else stays text, which the invite check refuses naming the column.
  if ((column === 'admin' || column === 'sendEmail') && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

export function rowsOfCsv(text: string): BulkRow[] {
  const [header, ...records] = parseCsvRecords(text.replace(/^\uFEFF/, ''));
  if (!header) throw badRequest('The CSV is empty');
  const columns = header.map((h) => h.trim());
  const unknown = columns.find((c) => !(CSV_COLUMNS as readonly string[]).includes(c));
  if (unknown !== undefined) throw badRequest(`Unknown CSV column "${unknown.slice(0, 80)}"; the columns are ${CSV_COLUMNS.join(',')}`);
  return limitRows(
    records.map((cells, i) => {
      if (cells.length !== columns.length) return { row: i + 1, error: `has ${cells.length} fields; the header has ${columns.length}` };
      const body: Record<string, unknown> = {};
      columns.forEach((column, j) => {
        const value = (cells[j] as string).trim();
        if (value !== '') body[column] = csvValue(column as (typeof CSV_COLUMNS)[number], value);
      });
      return { row: i + 1, body };
    }),
  );
}

/** Rows of a text body (NDJSON or CSV) or an already parsed JSON one. */
export function readBulkRows(format: BulkFormat, body: unknown): BulkRow[] {
  if (format === 'json') return rowsOfJson(body);
  if (typeof body !== 'string') throw badRequest('The body must be text');
  return format === 'csv' ? rowsOfCsv(body) : rowsOfNdjson(body);
}
