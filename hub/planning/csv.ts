/** A small RFC 4180 CSV reader for planners' uploads: quoted fields, a header row, errors with line and column. */
import { badRequest } from '../../shared/errors.js';

export function parseCsv(text: string): string[][] {
  return csvRows(text).map((r) => r.cells);
}

/** The rows with the file line each starts on (blank lines dropped; a quoted field may span lines). */
function csvRows(text: string): { cells: string[]; line: number }[] {
  const rows: { cells: string[]; line: number }[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let quoteLine = 1;
  // a byte-order mark (Excel writes one) is not part of the first field
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      quoteLine = line;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push({ cells: row, line: rowLine });
      row = [];
      field = '';
      line++;
      rowLine = line;
    } else field += ch;
  }
  if (quoted) throw badRequest('malformed_csv', `line ${quoteLine}: a quoted field is not closed`);
  if (field !== '' || row.length) {
    row.push(field);
    rows.push({ cells: row, line: rowLine });
  }
  return rows.filter((r) => !(r.cells.length === 1 && r.cells[0]!.trim() === ''));
}

/** A calendar date as written in ISO 8601 (YYYY-MM-DD), one that exists. */
function isIsoDate(raw: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(raw)) return false;
  const d = new Date(`${raw}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === raw;
}

/**
 * Rows as objects keyed by the header, with each named column converted; a bad value is a 400
 * naming its file line (1 = the header) and column. Dates are calendar dates, YYYY-MM-DD.
 */
export function csvRecords(text: string, columns: Record<string, { required: boolean; type: 'string' | 'int' | 'date' }>): Record<string, string | number>[] {
  const rows = csvRows(text);
  if (rows.length === 0) throw badRequest('malformed_csv', 'the CSV is empty');
  const header = rows[0]!.cells.map((h) => h.trim());
  for (const [name, c] of Object.entries(columns)) {
    if (c.required && !header.includes(name)) throw badRequest('malformed_csv', `line 1: missing column "${name}"`);
  }
  return rows.slice(1).map(({ cells: r, line: lineNo }) => {
    if (r.length !== header.length) throw badRequest('malformed_csv', `line ${lineNo}: ${r.length} fields, the header has ${header.length}`);
    const rec: Record<string, string | number> = {};
    header.forEach((h, j) => {
      const c = columns[h];
      if (!c) return;
      const raw = r[j]!.trim();
      const where = `line ${lineNo}, column ${j + 1} ("${h}")`;
      if (raw === '') {
        if (c.required) throw badRequest('malformed_csv', `${where}: empty`);
        return;
      }
      if (c.type === 'int') {
        if (!/^-?\d+$/.test(raw)) throw badRequest('malformed_csv', `${where}: "${raw}" is not a whole number`);
        rec[h] = Number(raw);
      } else if (c.type === 'date') {
        if (!isIsoDate(raw)) throw badRequest('malformed_csv', `${where}: "${raw}" is not a date`);
        rec[h] = raw;
      } else rec[h] = raw;
    });
    return rec;
  });
}
