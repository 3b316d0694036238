// ours.mjs: drives bench/harness/query_bench (our engine, in its own process)
// over its stdin/stdout line protocol, so the query driver can interleave our
// engine and DuckDB pass by pass. The protocol is described at the top of
// bench/harness/query_bench.c.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { unescapeField } from './canon.mjs';

export class OursClient {
  // bin: the query_bench executable; args: its arguments (data dir, db, query file).
  constructor(bin, args) {
    this.child = spawn(bin, [...args, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = [];
    this.waiters = [];
    this.closed = false;
    this.exitInfo = null;
    const rl = readline.createInterface({ input: this.child.stdout, crlfDelay: Infinity });
    rl.on('line', (l) => {
      const w = this.waiters.shift();
      if (w) w.resolve(l);
      else this.lines.push(l);
    });
    const onEnd = (why) => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error(`query_bench ended: ${why}`));
    };
    rl.on('close', () => onEnd('end of output'));
    this.child.on('error', (e) => onEnd(e.message));
    this.child.on('exit', (code, sig) => {
      this.exitInfo = sig ? `signal ${sig}` : `exit code ${code}`;
    });
  }

  readLine() {
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    if (this.closed) return Promise.reject(new Error(`query_bench ended (${this.exitInfo ?? 'closed'})`));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  send(cmd) {
    if (this.closed) throw new Error(`query_bench ended (${this.exitInfo ?? 'closed'})`);
    this.child.stdin.write(cmd + '\n');
  }

  // The first line query_bench prints: "ready <n_instances> <open_ms> <rss_bytes>".
  async ready() {
    const l = await this.readLine();
    const m = /^ready (\d+) ([\d.]+) (\d+)$/.exec(l);
    if (!m) throw new Error(`query_bench: unexpected greeting: ${l}`);
    return { instances: Number(m[1]), openMs: Number(m[2]), rss: Number(m[3]) };
  }

  // Run every instance of `type` once; returns [{index, ns, rows}] or [{index, error}].
  async timePass(type) {
    this.send(`time ${type}`);
    const out = [];
    for (;;) {
      const l = await this.readLine();
      if (l === 'done') return out;
      let m;
      if ((m = /^t (\d+) (\d+) (\d+)$/.exec(l))) {
        out.push({ index: Number(m[1]), ns: BigInt(m[2]), rows: Number(m[3]) });
      } else if ((m = /^e (\d+) (\S+) (.*)$/.exec(l))) {
        out.push({ index: Number(m[1]), error: `${m[2]}: ${m[3]}` });
      } else {
        throw new Error(`query_bench: unexpected line: ${l}`);
      }
    }
  }

  // The canonical answer of one instance, or { error }.
  async result(type, index) {
    this.send(`result ${type} ${index}`);
    const first = await this.readLine();
    let m;
    if ((m = /^e (\d+) (\S+) (.*)$/.exec(first))) return { error: `${m[2]}: ${m[3]}` };
    if (!(m = /^cols (\d+)$/.exec(first))) throw new Error(`query_bench: unexpected line: ${first}`);
    const n = Number(m[1]);
    const cols = [];
    for (let i = 0; i < n; i++) {
      const l = await this.readLine();
      const c = /^col (\S+)\t(.*)$/.exec(l);
      if (!c) throw new Error(`query_bench: unexpected line: ${l}`);
      cols.push({ name: unescapeField(c[2]), type: c[1] });
    }
    const rows = [];
    for (;;) {
      const l = await this.readLine();
      if (l.startsWith('r\t') || l === 'r') {
        const f = l === 'r' ? [] : l.slice(2).split('\t').map(unescapeField);
        rows.push(n === 0 ? [] : f);
        continue;
      }
      if ((m = /^end (\d+)$/.exec(l))) {
        if (Number(m[1]) !== rows.length) throw new Error('query_bench: row count mismatch in result');
        return { cols, rows };
      }
      if ((m = /^e (\d+) (\S+) (.*)$/.exec(l))) return { error: `${m[2]}: ${m[3]}` };
      throw new Error(`query_bench: unexpected line: ${l}`);
    }
  }

  // "stats" -> { rss, hwm } of the query_bench process.
  async stats() {
    this.send('stats');
    const l = await this.readLine();
    const m = /^stats (\d+) (\d+)$/.exec(l);
    if (!m) throw new Error(`query_bench: unexpected line: ${l}`);
    return { rss: Number(m[1]), hwm: Number(m[2]) };
  }

  async close() {
    if (!this.closed) {
      this.send('quit');
      this.child.stdin.end();
    }
    await new Promise((r) => (this.child.exitCode !== null || this.child.signalCode ? r() : this.child.on('exit', r)));
  }
}
