// canon.mjs: the canonical form of a query answer, and the comparison that
// gates the benchmark (bench/run.sh). Both engines' answers are turned into
// { cols: [{name, type}], rows: [[string|null, ...]] } where type is one of
// time (int ns), int, uint, float, string, bool (0/1); then compared: same
// column names in the same order, same row count, then values (numbers with
// a relative tolerance), in the query's order, or sorted when the query has
// no ORDER BY.

export const FLOAT_REL_TOL = 1e-9;

// DuckDB column type -> canonical type and value converter.
export function duckdbCanonType(t) {
  const s = String(t);
  if (s === 'TIMESTAMP' || s === 'TIMESTAMP WITH TIME ZONE') return 'time';
  if (s === 'TIMESTAMP_NS') return 'time';
  if (s === 'TIMESTAMP_MS') return 'time';
  if (s === 'TIMESTAMP_S') return 'time';
  if (/^(BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT)$/.test(s)) return 'int';
  if (/^(UBIGINT|UINTEGER|USMALLINT|UTINYINT|UHUGEINT)$/.test(s)) return 'uint';
  if (s === 'DOUBLE' || s === 'FLOAT' || s.startsWith('DECIMAL')) return 'float';
  if (s === 'VARCHAR') return 'string';
  if (s === 'BOOLEAN') return 'bool';
  return 'other:' + s;
}

function duckdbValue(v, duckType) {
  if (v === null || v === undefined) return null;
  const s = String(duckType);
  if (s === 'TIMESTAMP' || s === 'TIMESTAMP WITH TIME ZONE') return (v.micros * 1000n).toString();
  if (s === 'TIMESTAMP_NS') return v.nanos.toString();
  if (s === 'TIMESTAMP_MS') return (v.millis * 1000000n).toString();
  if (s === 'TIMESTAMP_S') return (v.seconds * 1000000000n).toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') return Number.isInteger(v) && duckdbCanonType(duckType) !== 'float'
    ? String(v) : v.toPrecision(17);
  return String(v);
}

// A DuckDB materialized result -> canonical answer.
export function fromDuckDB(reader) {
  const names = reader.columnNames();
  const types = reader.columnTypes();
  const cols = names.map((name, i) => ({ name, type: duckdbCanonType(types[i]) }));
  const rows = reader.getRows().map((r) => r.map((v, i) => duckdbValue(v, types[i])));
  return { cols, rows };
}

// Decode one value of the harness's text protocol (see bench/harness/query_bench.c).
export function unescapeField(s) {
  if (s === '\\N') return null;
  if (s.indexOf('\\') < 0) return s;
  return s.replace(/\\(.)/g, (_, c) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

function isNumeric(t) {
  return t === 'int' || t === 'uint' || t === 'float';
}

function valuesEqual(a, b, ta, tb) {
  if (a === null || b === null) return a === b;
  if (a === b) return true;
  if (isNumeric(ta) && isNumeric(tb)) {
    if (ta !== 'float' && tb !== 'float') return BigInt(a) === BigInt(b);
    const x = Number(a), y = Number(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
    const scale = Math.max(Math.abs(x), Math.abs(y));
    return Math.abs(x - y) <= FLOAT_REL_TOL * scale || Math.abs(x - y) < 1e-300;
  }
  return false;
}

function rowKey(r) {
  return r.map((v) => (v === null ? '\u0000' : v)).join('\u001f');
}

function fmtRow(r) {
  return r.map((v) => (v === null ? 'NULL' : v)).join(' | ');
}

// Compare two canonical answers. Returns { ok, warnings: [], diff: string|null }.
export function compareAnswers(ours, ref, ordered, maxDiffLines = 12) {
  const warnings = [];
  const on = ours.cols.map((c) => c.name), rn = ref.cols.map((c) => c.name);
  if (on.join(',') !== rn.join(',')) {
    return { ok: false, warnings, diff: `columns differ:\n  ours:   ${on.join(', ')}\n  duckdb: ${rn.join(', ')}` };
  }
  for (let i = 0; i < on.length; i++) {
    const a = ours.cols[i].type, b = ref.cols[i].type;
    if (a === b) continue;
    if (isNumeric(a) && isNumeric(b)) {
      warnings.push(`column "${on[i]}": type ${a} (ours) vs ${b} (duckdb)`);
      continue;
    }
    return { ok: false, warnings, diff: `column "${on[i]}": type ${a} (ours) vs ${b} (duckdb)` };
  }
  if (ours.rows.length !== ref.rows.length) {
    const lines = [`row count differs: ours ${ours.rows.length}, duckdb ${ref.rows.length}`];
    const n = Math.min(3, Math.max(ours.rows.length, ref.rows.length));
    for (let i = 0; i < n; i++) {
      lines.push(`  row ${i}: ours   ${ours.rows[i] ? fmtRow(ours.rows[i]) : '(none)'}`);
      lines.push(`  row ${i}: duckdb ${ref.rows[i] ? fmtRow(ref.rows[i]) : '(none)'}`);
    }
    return { ok: false, warnings, diff: lines.join('\n') };
  }
  let a = ours.rows, b = ref.rows;
  if (!ordered) {
    a = [...a].sort((x, y) => (rowKey(x) < rowKey(y) ? -1 : rowKey(x) > rowKey(y) ? 1 : 0));
    b = [...b].sort((x, y) => (rowKey(x) < rowKey(y) ? -1 : rowKey(x) > rowKey(y) ? 1 : 0));
  }
  const lines = [];
  let bad = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < on.length; j++) {
      if (!valuesEqual(a[i][j], b[i][j], ours.cols[j].type, ref.cols[j].type)) {
        bad++;
        if (lines.length < maxDiffLines) {
          lines.push(`  row ${i}${ordered ? '' : ' (sorted)'}, column "${on[j]}": ours ${a[i][j]} vs duckdb ${b[i][j]}`);
          lines.push(`    ours:   ${fmtRow(a[i])}`);
          lines.push(`    duckdb: ${fmtRow(b[i])}`);
        }
        break;
      }
    }
  }
  if (bad) return { ok: false, warnings, diff: `${bad} row(s) differ:\n${lines.join('\n')}` };
  return { ok: true, warnings, diff: null };
}
