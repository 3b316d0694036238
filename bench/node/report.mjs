// report.mjs: the last step of bench/run.sh. Reads the JSON pieces a run left
// in bench/out/<size>/ (meta, baselines, ingest of both engines, queries),
// prints the ingest and query tables, and writes them together as
// result.json and as Markdown tables (result.md, the form docs/performance.md
// uses).
//
//   node report.mjs --dir bench/out/standard
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fmtMs } from './lib/stats.mjs';

const { values: opt } = parseArgs({ options: { dir: { type: 'string' } } });
if (!opt.dir) {
  console.error('usage: node report.mjs --dir bench/out/<size>');
  process.exit(2);
}
const read = (f) => {
  const p = path.join(opt.dir, f);
  return fs.existsSync(p) ? JSON.parse(fs.readFileSync(p, 'utf8')) : null;
};
const meta = read('meta.json') ?? {};
const membw = read('baseline_membw.json');
const lpBenchPath = path.join(opt.dir, 'lp_bench.txt');
const lpBench = fs.existsSync(lpBenchPath) ? fs.readFileSync(lpBenchPath, 'utf8').trim() : null;
const ours = read('ingest_ours.json');
const oursW = read('ingest_ours_writers.json');
const duck2 = read('ingest_duckdb_t2.json');
const duck1 = read('ingest_duckdb_t1.json');
const queries = read('queries.json');

const num = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const fmtRatio = (r) => (r === null || r === undefined ? '-' : r >= 0.1 ? r.toFixed(3) : r.toPrecision(2));
const mb = (b) => (b ? num(b / 1e6, 0) + ' MB' : '-');

// A table as aligned text and as Markdown.
function table(head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  const text = [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
  const md = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  return { text, md };
}

const out = [];
const md = [];
const section = (title, t, notes = []) => {
  out.push(`\n${title}\n${t.text}${notes.length ? '\n' + notes.join('\n') : ''}`);
  const mdNotes = notes.map((n) => (n.startsWith('  ') ? `  - ${n.trim()}` : `- ${n}`));
  md.push(`\n### ${title}\n\n${t.md}\n${notes.length ? '\n' + mdNotes.join('\n') + '\n' : ''}`);
};

const runLine = `run: size ${meta.size}, git ${meta.git}${meta.git_dirty ? ' (dirty)' : ''}, ${meta.started}, ` +
  `${meta.nproc} vCPU ${meta.cpu}, node ${meta.node}` +
  (queries ? `, DuckDB ${queries.duckdb_version} with ${queries.threads} thread(s) for queries` : '');
out.push(runLine);
md.push(`_${runLine}_`);

// ---- baselines
if (membw || lpBench) {
  const rows = [];
  if (membw) {
    rows.push(['memory read, 1 thread', `${num(membw.read_gbps_1t, 1)} GB/s`]);
    rows.push([`memory read, ${membw.threads} threads`, `${num(membw.read_gbps_nt, 1)} GB/s`]);
  }
  if (lpBench) {
    const cpuLine = lpBench.split('\n').find((l) => l.startsWith('cpu time:'));
    rows.push(['line-protocol parse alone (lp_bench, 1 core)', cpuLine ? cpuLine.replace(/^cpu time:\s*/, '') : lpBench.split('\n').slice(-1)[0]]);
  }
  section('Baselines', table(['baseline', 'figure'], rows));
}

// ---- ingest
const ingestRows = [];
const ratioTo = (r, d) => (r && d ? `${(r.rows_per_s / d.rows_per_s).toFixed(2)}x` : '-');
if (ours) {
  ingestRows.push(['ours: eng_write LP, durable acks, + persist', num(ours.rows), num(ours.rows_per_s),
    num(ours.lp_mb_per_s_write, 0), num(ours.cpu_s_per_m_rows, 2), `${num(ours.ack_p50_ms, 2)} / ${num(ours.ack_p99_ms, 2)}`,
    num(ours.bytes_per_row, 2), mb(ours.peak_rss_bytes), ratioTo(ours, duck2), ratioTo(ours, duck1)]);
  ingestRows.push(['ours: write phase only (acked, before persist)', num(ours.rows), num(ours.rows_per_s_write),
    '', num(ours.cpu_seconds_write / (ours.rows / 1e6), 2), '', '', '', '', '']);
}
if (oursW) {
  ingestRows.push([`ours: same, ${oursW.writers} concurrent writers`, num(oursW.rows), num(oursW.rows_per_s),
    num(oursW.lp_mb_per_s_write, 0), num(oursW.cpu_s_per_m_rows, 2), `${num(oursW.ack_p50_ms, 2)} / ${num(oursW.ack_p99_ms, 2)}`,
    num(oursW.bytes_per_row, 2), mb(oursW.peak_rss_bytes), ratioTo(oursW, duck2), ratioTo(oursW, duck1)]);
}
for (const d of [duck2, duck1]) {
  if (!d) continue;
  ingestRows.push([`DuckDB ${d.version}: read_csv + CHECKPOINT, ${d.threads} thr`, num(d.rows), num(d.rows_per_s), '',
    num(d.cpu_s_per_m_rows, 2), '', num(d.bytes_per_row, 2), mb(d.peak_rss_bytes), '', '']);
}
if (ingestRows.length) {
  const notes = [];
  if (!ours) notes.push('ours: not measured (ingest_bench is not built: the engine write path has not landed)');
  section('Ingest', table(['engine / path', 'rows', 'rows/s', 'LP MB/s', 'CPU-s/M rows', 'ack p50/p99 ms',
    'bytes/row', 'peak RSS', 'vs DuckDB 2 thr', 'vs DuckDB 1 thr'], ingestRows), notes);
}

// ---- queries
if (queries) {
  const rows = [];
  const bw = membw?.read_gbps_1t;
  const scale = meta.size === 'smoke' ? 10 : 100;
  const heavyBytes = (type) => {
    // double-groupby-k: 12 h of every host; 8 B time + 8 B per aggregated metric per row
    const k = { 'double-groupby-1': 1, 'double-groupby-5': 5, 'double-groupby-all': 10 }[type];
    if (!k) return null;
    const hours = meta.size === 'smoke' ? 2 : 12;
    return scale * hours * 360 * (8 + 8 * k);
  };
  for (const t of queries.types) {
    const st = !queries.ours_available ? '-' : t.status === 'ok' ? (queries.check_only || t.ratio ? 'ok' : '-') : t.status.toUpperCase();
    rows.push([t.type, num(t.rows_out), fmtMs(t.ours?.p50), fmtMs(t.ours?.p99), fmtMs(t.duckdb?.p50), fmtMs(t.duckdb?.p99),
      fmtRatio(t.ratio), st]);
    if (t.duckdb_tsbs) {
      const r2 = t.ours && t.status === 'ok' ? fmtRatio(t.ours.p50 / t.duckdb_tsbs.p50) : '-';
      rows.push(['  lastpoint vs DuckDB DISTINCT ON (TSBS form)', num(t.rows_out), '', '', fmtMs(t.duckdb_tsbs.p50),
        fmtMs(t.duckdb_tsbs.p99), r2, '']);
    }
  }
  const notes = [];
  if (queries.check_only) notes.push('correctness check only: no timings');
  if (queries.geomean_ratio !== null) {
    notes.push(`geometric mean of ours/DuckDB p50 over ${queries.n_ratio_types} of ${queries.n_types} types: ${queries.geomean_ratio.toFixed(3)}`);
  }
  if (!queries.ours_available) notes.push(`ours: ${queries.ours_missing}`);
  else notes.push(`correctness: ${queries.correctness.matched}/${queries.correctness.checked} answers match DuckDB's` +
    (queries.correctness.failures.length ? ` — ${queries.correctness.failures.length} FAILED` : ''));
  const scans = [];
  for (const t of queries.types) {
    const b = heavyBytes(t.type);
    if (!b) continue;
    for (const [who, s] of [['ours', t.ours], ['DuckDB', t.duckdb]]) {
      if (!s) continue;
      const gbps = b / (s.p50 * 1e6);
      scans.push(`${t.type} ${who}: ${gbps.toFixed(2)} GB/s of decoded columns` + (bw ? ` (${((gbps / bw) * 100).toFixed(1)}% of the 1-thread read bandwidth)` : ''));
    }
  }
  if (scans.length) notes.push('scan rate (p50):', ...scans.map((s) => '  ' + s));
  if (queries.ours_peak_rss_bytes) notes.push(`peak RSS: ours (query_bench) ${mb(queries.ours_peak_rss_bytes)}, node + DuckDB ${mb(queries.duckdb_peak_rss_bytes)}`);
  section(queries.check_only ? 'Queries (answers checked against DuckDB, not timed)'
    : `Queries (p50/p99 ms over ${queries.passes} timed passes of every instance, after 1 warm-up)`,
    table(['query type', 'rows out', 'ours p50', 'ours p99', 'DuckDB p50', 'DuckDB p99', 'ours/DuckDB', 'answers'], rows), notes);
}

console.log(out.join('\n'));
fs.writeFileSync(path.join(opt.dir, 'result.md'), md.join('\n') + '\n');
fs.writeFileSync(path.join(opt.dir, 'result.json'),
  JSON.stringify({ meta, baselines: { membw, lp_bench: lpBench }, ingest: { ours, ours_writers: oursW, duckdb_t2: duck2, duckdb_t1: duck1 }, queries }, null, 1) + '\n');
console.log(`\n(written: ${path.join(opt.dir, 'result.json')}, result.md)`);
