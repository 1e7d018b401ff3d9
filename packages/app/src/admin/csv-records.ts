/**
 * Splits a CSV file into its header and its records (RFC 4180: a quoted field may hold
 * commas, doubled quotes and line breaks), keeping each record's text as written, so the
 * bulk invite can send the file in parts (for its progress bar) and the server still reads
 * every part as the CSV it is. The server parses the fields; this only finds where records end.
 */
export interface CsvRecords {
  header: string;
  records: string[];
}

export function splitCsvRecords(text: string): CsvRecords {
  const records: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      quoted = !quoted;
    } else if (c === '\n' && !quoted) {
      records.push(text.slice(start, i).replace(/\r$/, ''));
      start = i + 1;
    }
  }
  if (start < text.length) records.push(text.slice(start).replace(/\r$/, ''));
  const nonEmpty = records.filter((r) => r.trim() !== '');
  const [header = '', ...rest] = nonEmpty;
  return { header: header.replace(/^\uFEFF/, ''), records: rest };
}

/** The records in groups of `size`, each a CSV text with the header first. */
export function csvParts({ header, records }: CsvRecords, size: number): { text: string; first: number; count: number }[] {
  const parts = [];
  for (let i = 0; i < records.length; i += size) {
    const slice = records.slice(i, i + size);
    parts.push({ text: [header, ...slice].join('\r\n') + '\r\n', first: i + 1, count: slice.length });
  }
  return parts;
}
