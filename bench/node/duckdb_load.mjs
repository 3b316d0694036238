// duckdb_load.mjs: DuckDB's ingest for the benchmark: bulk-load the TSBS CSV
// (tsbs_gen --format csv-iso) into a fresh file-backed database with
// read_csv, then CHECKPOINT, so the data is durable in the database file
// (the most favourable path for DuckDB). Prints one JSON object: rows, wall
// seconds, CPU seconds (all threads), bytes on disk, peak RSS.
//
//   node duckdb_load.mjs --csv cpu.csv --db cpu.duckdb --threads 2
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    csv: { type: 'string' },
    db: { type: 'string' },
    threads: { type: 'string', default: '2' },
  },
});
if (!opt.csv || !opt.db) {
  console.error('usage: node duckdb_load.mjs --csv FILE --db FILE [--threads N]');
  process.exit(2);
}
const threads = Number(opt.threads);
if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
  console.error(`duckdb_load: --threads: expected 1..64: "${opt.threads}"`);
  process.exit(2);
}
if (!fs.existsSync(opt.csv)) {
  console.error(`duckdb_load: no such file "${opt.csv}"`);
  process.exit(1);
}

const CPU_COLUMNS = [
  ['time', 'TIMESTAMP'],
  ...['hostname', 'region', 'datacenter', 'rack', 'os', 'arch', 'team', 'service',
    'service_version', 'service_environment'].map((n) => [n, 'VARCHAR']),
  ...['usage_user', 'usage_system', 'usage_idle', 'usage_nice', 'usage_iowait', 'usage_irq',
    'usage_softirq', 'usage_steal', 'usage_guest', 'usage_guest_nice'].map((n) => [n, 'BIGINT']),
];

for (const f of [opt.db, opt.db + '.wal']) fs.rmSync(f, { force: true });

const inst = await DuckDBInstance.create(opt.db, { threads: String(threads) });
const con = await inst.connect();
const version = (await con.runAndReadAll('SELECT version()')).getRows()[0][0];
const colDefs = CPU_COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ');
const colMap = CPU_COLUMNS.map(([n, t]) => `'${n}': '${t}'`).join(', ');
const csvLit = opt.csv.replace(/'/g, "''");

const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await con.run(`CREATE TABLE cpu (${colDefs})`);
await con.run(`INSERT INTO cpu SELECT * FROM read_csv('${csvLit}', header = true, columns = {${colMap}})`);
await con.run('CHECKPOINT');
const t1 = process.hrtime.bigint();
const cpu1 = process.cpuUsage(cpu0);

const rows = Number((await con.runAndReadAll('SELECT count(*) FROM cpu')).getRows()[0][0]);
con.closeSync();
inst.closeSync();

let bytes = 0, allocated = 0;
for (const f of [opt.db, opt.db + '.wal']) {
  if (fs.existsSync(f)) {
    const st = fs.statSync(f);
    bytes += st.size;
    allocated += st.blocks * 512;
  }
}
const seconds = Number(t1 - t0) / 1e9;
const cpuSeconds = (cpu1.user + cpu1.system) / 1e6;
const out = {
  engine: 'duckdb',
  version,
  path: 'csv read_csv + CHECKPOINT',
  threads,
  rows,
  seconds,
  rows_per_s: rows / seconds,
  csv_bytes: fs.statSync(opt.csv).size,
  cpu_seconds: cpuSeconds,
  cpu_s_per_m_rows: cpuSeconds / (rows / 1e6),
  disk_bytes: bytes,
  disk_bytes_allocated: allocated,
  bytes_per_row: bytes / rows,
  peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
};
process.stdout.write(JSON.stringify(out) + '\n');
