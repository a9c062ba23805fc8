/**
 * The planners' CSV reader (hub/planning/csv.ts): what a spreadsheet export looks like (quoted
 * fields, CRLF, a BOM, blank lines) is read as the planner meant it, and a bad row is a 400 that
 * names its line and column so the planner can fix the file.
 */
import { describe, expect, it } from 'vitest';
import { csvRecords, parseCsv } from '../../hub/planning/csv.js';
import { DomError } from '../../shared/errors.js';

const FORECAST = {
  facility: { required: true, type: 'string' },
  sku: { required: true, type: 'string' },
  date: { required: true, type: 'date' },
  qty: { required: true, type: 'int' },
} as const;
const MODEL = {
  facility: { required: true, type: 'string' },
  sku: { required: true, type: 'string' },
  min: { required: false, type: 'int' },
  max: { required: false, type: 'int' },
} as const;

/** The 400 a call throws: status, code and message. */
function refusal(fn: () => unknown): { status: number; code: string; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomError);
    const e = err as DomError;
    return { status: e.status, code: e.code, message: e.message };
  }
  throw new Error('expected the CSV to be refused');
}

describe('parseCsv', () => {
  it('reads plain rows, with or without a final newline', () => {
    expect(parseCsv('a,b\n1,2\n')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(parseCsv('a,b\n1,2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('reads quoted fields: commas, doubled quotes and newlines inside quotes', () => {
    expect(parseCsv('name,note\n"Smith, J","said ""hi"""\n')).toEqual([
      ['name', 'note'],
      ['Smith, J', 'said "hi"'],
    ]);
    expect(parseCsv('a,b\n"two\nlines",x\n')).toEqual([
      ['a', 'b'],
      ['two\nlines', 'x'],
    ]);
    expect(parseCsv('a,b\n"",x\n')).toEqual([
      ['a', 'b'],
      ['', 'x'],
    ]);
  });

  it('keeps empty fields, including a trailing one', () => {
    expect(parseCsv('a,b,c\n1,,3\n4,5,\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', '', '3'],
      ['4', '5', ''],
    ]);
  });

  it('reads CRLF (Windows) and lone CR line ends as one line end each', () => {
    expect(parseCsv('a,b\r\n1,2\r\n3,4\r\n')).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(parseCsv('a\rb\r')).toEqual([['a'], ['b']]);
    // a CRLF inside quotes is data
    expect(parseCsv('a\r\n"x\r\ny"\r\n')).toEqual([['a'], ['x\r\ny']]);
  });

  it('a quote inside an unquoted field is data (12" pipe)', () => {
    expect(parseCsv('sku,name\nP-12,12" pipe\n')).toEqual([
      ['sku', 'name'],
      ['P-12', '12" pipe'],
    ]);
  });

  it('skips empty and blank lines', () => {
    expect(parseCsv('\na,b\n\n1,2\n   \n\r\n')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(parseCsv('')).toEqual([]);
    expect(parseCsv('\n\n')).toEqual([]);
  });

  it('refuses a quoted field that is never closed, with a 400', () => {
    const r = refusal(() => parseCsv('a,b\n"x,y\n'));
    expect(r).toMatchObject({ status: 400, code: 'malformed_csv' });
    expect(r.message).toMatch(/quoted field is not closed/);
    // a CRLF counts as one line: the quote opened on line 2 and nothing follows it
    expect(refusal(() => parseCsv('a,b\r\n"x,y')).message).toBe('line 2: a quoted field is not closed');
  });

  // Was a bug (fixed): `line` has counted every newline up to the end of the text when the
  // error is thrown, so the message names the last line, not the line where the quote opened.
  it('names the line where the unclosed quote opened', () => {
    expect(refusal(() => parseCsv('a,b\n"x,y\n1,2\n3,4\n')).message).toMatch(/^line 2:/);
  });
});

describe('csvRecords', () => {
  it('maps rows to records by header, converting whole numbers and keeping dates as written', () => {
    const text = 'facility,sku,date,qty\nATL-01,SKU-1,2026-03-02,12\r\nATL-01,SKU-2,2026-03-03,-4\r\n';
    expect(csvRecords(text, FORECAST)).toEqual([
      { facility: 'ATL-01', sku: 'SKU-1', date: '2026-03-02', qty: 12 },
      { facility: 'ATL-01', sku: 'SKU-2', date: '2026-03-03', qty: -4 },
    ]);
  });

  it('trims headers and values, ignores unknown columns, leaves empty optional values out', () => {
    expect(csvRecords(' facility , sku ,min,max,comment\n ATL-01 , A ,1, 5 ,x\nATL-01,B,,,y\n', MODEL)).toEqual([
      { facility: 'ATL-01', sku: 'A', min: 1, max: 5 },
      { facility: 'ATL-01', sku: 'B' },
    ]);
  });

  it('columns may come in any order', () => {
    expect(csvRecords('qty,date,sku,facility\n3,2026-03-02,A,F1\n', FORECAST)).toEqual([{ facility: 'F1', sku: 'A', date: '2026-03-02', qty: 3 }]);
  });

  it('reads a UTF-8 byte-order mark (Excel "CSV UTF-8") as nothing', () => {
    expect(csvRecords('\uFEFFfacility,sku,min,max\nF1,A,1,2\n', MODEL)).toEqual([{ facility: 'F1', sku: 'A', min: 1, max: 2 }]);
  });

  // Was a bug (fixed): the BOM is not stripped before parsing, so a quoted first header ("facility") is not seen
  // as quoted (the quote is not at the start of the field) and the column is reported missing.
  it('reads a BOM before a quoted header', () => {
    expect(csvRecords('\uFEFF"facility","sku","min","max"\nF1,A,1,2\n', MODEL)).toEqual([{ facility: 'F1', sku: 'A', min: 1, max: 2 }]);
  });

  it('a header with no rows is no records', () => {
    expect(csvRecords('facility,sku,min,max\n', MODEL)).toEqual([]);
  });

  it('refuses an empty file', () => {
    expect(refusal(() => csvRecords('', MODEL))).toEqual({ status: 400, code: 'malformed_csv', message: 'the CSV is empty' });
    expect(refusal(() => csvRecords('\n \n', MODEL)).message).toBe('the CSV is empty');
  });

  it('refuses a missing required column, naming it', () => {
    expect(refusal(() => csvRecords('facility,min,max\nF1,1,2\n', MODEL))).toEqual({
      status: 400,
      code: 'malformed_csv',
      message: 'line 1: missing column "sku"',
    });
  });

  it('refuses a row with the wrong number of fields, naming its line', () => {
    expect(refusal(() => csvRecords('facility,sku,min,max\nF1,A,1,2\nF1,B,1\n', MODEL)).message).toBe('line 3: 3 fields, the header has 4');
    expect(refusal(() => csvRecords('facility,sku,min,max\nF1,A,1,2,9\n', MODEL)).message).toBe('line 2: 5 fields, the header has 4');
  });

  it('refuses a bad value, naming line, column number and column name', () => {
    expect(refusal(() => csvRecords('facility,sku,min,max\nF1,A,1,2\nF1,B,one,2\n', MODEL)).message).toBe(
      'line 3, column 3 ("min"): "one" is not a whole number',
    );
    expect(refusal(() => csvRecords('facility,sku,min,max\nF1,A,1.5,2\n', MODEL)).message).toBe('line 2, column 3 ("min"): "1.5" is not a whole number');
    expect(refusal(() => csvRecords('facility,sku,date,qty\nF1,A,next week,2\n', FORECAST)).message).toBe(
      'line 2, column 3 ("date"): "next week" is not a date',
    );
    expect(refusal(() => csvRecords('facility,sku,date,qty\nF1, ,2026-03-02,2\n', FORECAST)).message).toBe('line 2, column 2 ("sku"): empty');
  });

  it('a quoted field may hold a comma or a quote and still be one value', () => {
    expect(csvRecords('facility,sku,min,max\nF1,"A,""big""",1,2\n', MODEL)).toEqual([{ facility: 'F1', sku: 'A,"big"', min: 1, max: 2 }]);
  });

  // Was a bug (fixed): the line in the message is the row's index + 2, but blank lines are dropped and a quoted
  // field may span lines, so after either the message names the wrong line of the file.
  it('names the file line of a bad row after a blank line', () => {
    expect(refusal(() => csvRecords('facility,sku,min,max\n\nF1,A,1,2\nF1,B,x,2\n', MODEL)).message).toMatch(/^line 4, /);
  });
  it('names the file line of a bad row after a multi-line quoted field', () => {
    expect(refusal(() => csvRecords('facility,sku,min,max\nF1,"A\nB",1,2\nF1,B,x,2\n', MODEL)).message).toMatch(/^line 4, /);
  });
});
