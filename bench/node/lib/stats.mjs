// stats.mjs: summary statistics of timings (nanoseconds in, milliseconds out)
// and the geometric mean the benchmark reports.

// Nearest-rank percentile of a sorted array, p in [0, 100].
function pct(sorted, p) {
  if (!sorted.length) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize(ns) {
  if (!ns.length) return null;
  const ms = ns.map((x) => Number(x) / 1e6).sort((a, b) => a - b);
  return {
    n: ms.length,
    min: ms[0],
    p50: pct(ms, 50),
    p90: pct(ms, 90),
    p99: pct(ms, 99),
    max: ms[ms.length - 1],
    mean: ms.reduce((a, b) => a + b, 0) / ms.length,
  };
}

export function geomean(xs) {
  const v = xs.filter((x) => Number.isFinite(x) && x > 0);
  if (!v.length) return null;
  return Math.exp(v.reduce((a, x) => a + Math.log(x), 0) / v.length);
}

// Format a number of milliseconds for a table cell.
export function fmtMs(x) {
  if (x === null || x === undefined) return '-';
  if (x < 0.1) return x.toFixed(3);
  if (x < 10) return x.toFixed(2);
  if (x < 1000) return x.toFixed(1);
  return x.toFixed(0);
}
