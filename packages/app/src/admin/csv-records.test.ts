// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { csvParts, splitCsvRecords } from './csv-records';

describe('splitCsvRecords', () => {
  it('keeps quoted commas, quotes and line breaks inside their record', () => {
    const text = '\uFEFFfirstName,lastName,email\r\n"Ann, Jr.","O""Brien",ann@example.com\n"Multi\nline",B,b@example.com\n\n';
    expect(splitCsvRecords(text)).toEqual({
      header: 'firstName,lastName,email',
      records: ['"Ann, Jr.","O""Brien",ann@example.com', '"Multi\nline",B,b@example.com'],
    });
  });

  it('cuts the records into parts that each start with the header, numbered from 1', () => {
    const parts = csvParts({ header: 'h', records: ['a', 'b', 'c'] }, 2);
    expect(parts).toEqual([
      { text: 'h\r\na\r\nb\r\n', first: 1, count: 2 },
      { text: 'h\r\nc\r\n', first: 3, count: 1 },
    ]);
  });
});
