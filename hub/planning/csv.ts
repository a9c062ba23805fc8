/** A small RFC 4180 CSV reader for planners' uploads: quoted fields, a header row, errors with line and column. */
import { badRequest } from '../../shared/errors.js';

export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
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
    if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      line++;
    } else field += ch;
  }
  if (quoted) throw badRequest('malformed_csv', `line ${line}: a quoted field is not closed`);
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0]!.trim() === ''));
}

/**
 * Rows as objects keyed by the header, with each named column converted; a bad value is a 400
 * naming its line (1 = the header) and column.
 */
export function csvRecords(text: string, columns: Record<string, { required: boolean; type: 'string' | 'int' | 'date' }>): Record<string, string | number>[] {
  const rows = parseCsv(text);
  if (rows.length === 0) throw badRequest('malformed_csv', 'the CSV is empty');
  const header = rows[0]!.map((h) => h.trim());
  for (const [name, c] of Object.entries(columns)) {
    if (c.required && !header.includes(name)) throw badRequest('malformed_csv', `line 1: missing column "${name}"`);
  }
  return rows.slice(1).map((r, i) => {
    const lineNo = i + 2;
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
        if (Number.isNaN(Date.parse(raw))) throw badRequest('malformed_csv', `${where}: "${raw}" is not a date`);
        rec[h] = raw;
      } else rec[h] = raw;
    });
    return rec;
  });
}
