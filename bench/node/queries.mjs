// queries.mjs: the query half of the benchmark. Runs the TSBS query instances
// (tsbs_gen --queries ...) on DuckDB in this process and on our engine through
// bench/harness/query_bench, type by type and pass by pass interleaved
// (ours, DuckDB, ours, DuckDB, ...) so machine drift hits both; checks every
// instance's answer against DuckDB's first (a fast wrong answer fails the
// run); writes the timings and the verdicts as JSON.
//
//   node queries.mjs --db cpu.duckdb --threads 1 --queries-dir OUT \
//        [--ours build/bin/query_bench --ours-data DIR --ours-db benchmark] \
//        [--passes 3] [--types a,b] [--check-only] --out queries.json
//
// OUT holds queries_ours.tsv, queries_duckdb.tsv and queries_duckdb_tsbs.tsv.
// Exit status: 0 all answers matched (or our engine is absent), 1 a wrong
// answer or a failed query, 2 bad usage.
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { compareAnswers, fromDuckDB } from './lib/canon.mjs';
import { OursClient } from './lib/ours.mjs';
import { fmtMs, geomean, summarize } from './lib/stats.mjs';

const TYPES = [
  'single-groupby-1-1-1', 'single-groupby-1-1-12', 'single-groupby-1-8-1',
  'single-groupby-5-1-1', 'single-groupby-5-1-12', 'single-groupby-5-8-1',
  'cpu-max-all-1', 'cpu-max-all-8',
  'double-groupby-1', 'double-groupby-5', 'double-groupby-all',
  'high-cpu-1', 'high-cpu-all', 'lastpoint', 'groupby-orderby-limit',
];
const UNORDERED = new Set(['high-cpu-1', 'high-cpu-all']);
// lastpoint has no random parameters: its instances are all the same query.
const MAX_IDENTICAL_INSTANCES = 5;

const { values: opt } = parseArgs({
  options: {
    db: { type: 'string' },
    threads: { type: 'string', default: '1' },
    'queries-dir': { type: 'string' },
    ours: { type: 'string' },
    'ours-data': { type: 'string' },
    'ours-db': { type: 'string', default: 'benchmark' },
    'ours-missing': { type: 'string' },
    passes: { type: 'string', default: '3' },
    types: { type: 'string' },
    'check-only': { type: 'boolean', default: false },
    out: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});
function usage(msg) {
  if (msg) console.error(`queries: ${msg}`);
  console.error('usage: node queries.mjs --db FILE --queries-dir DIR [--threads N] [--passes N]\n' +
    '         [--ours BIN --ours-data DIR [--ours-db NAME]] [--types a,b] [--check-only] [--out FILE]');
  process.exit(2);
}
if (!opt.db || !opt['queries-dir']) usage();
const threads = Number(opt.threads), passes = Number(opt.passes);
if (!Number.isInteger(threads) || threads < 1 || threads > 64) usage(`--threads: expected 1..64`);
if (!Number.isInteger(passes) || passes < 1 || passes > 1000) usage(`--passes: expected 1..1000`);
const types = opt.types ? opt.types.split(',') : TYPES;
for (const t of types) if (!TYPES.includes(t)) usage(`unknown query type "${t}"`);
const log = (s) => { if (!opt.quiet) console.error(s); };

function readQueries(file) {
  const byType = new Map();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const [type, index, sql] = line.split('\t');
    if (!sql) throw new Error(`${file}: malformed line: ${line.slice(0, 80)}`);
    if (!byType.has(type)) byType.set(type, []);
    byType.get(type).push({ index: Number(index), sql });
  }
  return byType;
}
const qdir = opt['queries-dir'];
const qOurs = readQueries(path.join(qdir, 'queries_ours.tsv'));
const qDuck = readQueries(path.join(qdir, 'queries_duckdb.tsv'));
const qDuckTsbs = readQueries(path.join(qdir, 'queries_duckdb_tsbs.tsv'));

// ---- engines -------------------------------------------------------------
const inst = await DuckDBInstance.create(opt.db, { threads: String(threads), access_mode: 'READ_ONLY' });
const con = await inst.connect();
const duckVersion = (await con.runAndReadAll('SELECT version()')).getRows()[0][0];

async function duckTime(sql) {
  const t0 = process.hrtime.bigint();
  const r = await con.runAndReadAll(sql);
  const t1 = process.hrtime.bigint();
  return { ns: t1 - t0, rows: r.currentRowCount };
}
async function duckResult(sql) {
  try {
    return fromDuckDB(await con.runAndReadAll(sql));
  } catch (e) {
    return { error: String(e.message ?? e) };
  }
}

let ours = null, oursInfo = null, oursMissing = null;
if (opt.ours) {
  if (!fs.existsSync(opt.ours)) {
    oursMissing = `${opt.ours} is not built (the engine's query path has not landed)`;
  } else {
    if (!opt['ours-data']) usage('--ours needs --ours-data');
    ours = new OursClient(opt.ours, ['--data-dir', opt['ours-data'], '--db', opt['ours-db'],
      '--queries', path.join(qdir, 'queries_ours.tsv')]);
    oursInfo = await ours.ready();
    log(`ours: query_bench ready, ${oursInfo.instances} instances, engine opened in ${oursInfo.openMs.toFixed(1)} ms`);
  }
} else {
  oursMissing = opt['ours-missing'] ?? 'not requested (--ours not given)';
}

// ---- run -----------------------------------------------------------------
const results = [];
const failures = [];
let checked = 0, matched = 0;

for (const type of types) {
  let inO = qOurs.get(type) ?? [], inD = qDuck.get(type) ?? [], inT = qDuckTsbs.get(type) ?? [];
  if (type === 'lastpoint') {
    inO = inO.slice(0, MAX_IDENTICAL_INSTANCES);
    inD = inD.slice(0, MAX_IDENTICAL_INSTANCES);
    inT = inT.slice(0, MAX_IDENTICAL_INSTANCES);
  }
  if (!inD.length) throw new Error(`no DuckDB instances of ${type}`);
  const idx = new Set(inD.map((q) => q.index));
  const r = { type, instances: inD.length, ordered: !UNORDERED.has(type), ours: null, duckdb: null,
    duckdb_tsbs: null, ratio: null, status: 'ok', rows_out: null, error: null };

  // 1. correctness: every instance, ours against DuckDB (and DuckDB's two lastpoint forms)
  const refs = new Map();
  for (const q of inD) {
    const ref = await duckResult(q.sql);
    if (ref.error) throw new Error(`DuckDB failed on ${type} #${q.index}: ${ref.error}\n  ${q.sql}`);
    refs.set(q.index, ref);
  }
  r.rows_out = refs.get(inD[0].index).rows.length;
  if (type === 'lastpoint') {
    for (const q of inT) {
      const alt = await duckResult(q.sql);
      const c = alt.error ? { ok: false, diff: alt.error } : compareAnswers(alt, refs.get(q.index), true);
      if (!c.ok) throw new Error(`DuckDB's two lastpoint forms disagree:\n${c.diff}`);
    }
  }
  if (ours) {
    for (const q of inO) {
      if (!idx.has(q.index)) continue;
      checked++;
      const got = await ours.result(type, q.index);
      if (got.error) {
        r.status = 'error';
        r.error = got.error;
        failures.push({ type, index: q.index, kind: 'error', detail: got.error, sql: q.sql });
        break;
      }
      const c = compareAnswers(got, refs.get(q.index), r.ordered);
      for (const w of c.warnings) if (!r.warnings?.includes(w)) (r.warnings ??= []).push(w);
      if (!c.ok) {
        r.status = 'wrong';
        failures.push({ type, index: q.index, kind: 'wrong answer', detail: c.diff, sql: q.sql });
        if (failures.filter((f) => f.type === type).length >= 3) break;
      } else {
        matched++;
      }
    }
  }
  if (opt['check-only']) {
    results.push(r);
    log(`${type}: ${r.status}${ours ? '' : ' (DuckDB only)'}`);
    continue;
  }

  // 2. one warm-up pass each, then `passes` timed passes, interleaved
  const tO = [], tD = [], tT = [];
  const oursOk = () => ours && r.status !== 'error';
  for (let p = 0; p <= passes; p++) {
    if (oursOk()) {
      const res = await ours.timePass(type);
      const err = res.find((x) => x.error);
      if (err) {
        r.status = 'error';
        r.error = err.error;
        failures.push({ type, index: err.index, kind: 'error', detail: err.error, sql: '' });
      } else if (p > 0) {
        for (const x of res) if (type !== 'lastpoint' || idx.has(x.index)) tO.push(x.ns);
      }
    }
    for (const q of inD) {
      const t = await duckTime(q.sql);
      if (p > 0) tD.push(t.ns);
    }
    if (type === 'lastpoint') {
      for (const q of inT) {
        const t = await duckTime(q.sql);
        if (p > 0) tT.push(t.ns);
      }
    }
  }
  r.ours = summarize(tO);
  r.duckdb = summarize(tD);
  r.duckdb_tsbs = type === 'lastpoint' ? summarize(tT) : null;
  if (r.ours && r.duckdb && r.status === 'ok') r.ratio = r.ours.p50 / r.duckdb.p50;
  results.push(r);
  log(`${type.padEnd(22)} ours p50 ${fmtMs(r.ours?.p50).padStart(8)} ms   duckdb p50 ${fmtMs(r.duckdb?.p50).padStart(8)} ms` +
    `${r.ratio ? `   ratio ${r.ratio.toFixed(3)}` : ''}${r.status !== 'ok' ? `   ${r.status.toUpperCase()}` : ''}`);
}

let oursStats = null;
if (ours) {
  oursStats = await ours.stats();
  await ours.close();
}
con.closeSync();
inst.closeSync();

const ratios = results.map((r) => r.ratio).filter((x) => x !== null);
const out = {
  duckdb_version: duckVersion,
  threads,
  passes: opt['check-only'] ? 0 : passes,
  check_only: opt['check-only'],
  ours_available: !!ours,
  ours_missing: oursMissing,
  ours_open_ms: oursInfo?.openMs ?? null,
  ours_peak_rss_bytes: oursStats?.hwm ?? null,
  types: results,
  geomean_ratio: ratios.length ? geomean(ratios) : null,
  n_ratio_types: ratios.length,
  n_types: types.length,
  correctness: { checked, matched, failures },
  duckdb_peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
};
if (opt.out) fs.writeFileSync(opt.out, JSON.stringify(out, null, 1) + '\n');

if (failures.length) {
  console.error(`\nCORRECTNESS FAILED: ${failures.length} problem(s)`);
  for (const f of failures) {
    console.error(`\n--- ${f.type} #${f.index}: ${f.kind}`);
    if (f.sql) console.error(`    ${f.sql}`);
    console.error(f.detail.split('\n').map((l) => '  ' + l).join('\n'));
  }
  process.exit(1);
}
if (ours) log(`\ncorrectness: ${matched}/${checked} answers match DuckDB's`);
