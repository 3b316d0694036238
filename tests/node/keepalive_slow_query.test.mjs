// keepalive_slow_query.test.mjs: DoGet while a query is slow. stratad runs with
// --test-doget-batch-delay (each batch of the DoGet producer waits, whatever the query)
// and a short --keepalive-interval, so a small query becomes a slow one on demand:
//   - the Schema message arrives first, before the first batch is ready;
//   - while the producer waits, 0-row RecordBatch messages arrive, spaced by about the
//     keep-alive interval (never a burst), and never an empty data_header;
//   - the decoded stream is the full, exact result; so is what the official
//     @influxdata/influxdb3-client returns (the 0-row batches are invisible to it);
//   - a client deadline shorter than the query ends it with DEADLINE_EXCEEDED, as does a
//     cancel, and the query slot is free again at once (--max-concurrent-queries 1: the
//     next query would be refused otherwise).
// Bounds on times are loose on purpose (shared 2-core machines): they check behaviour,
// not speed.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import grpc from '@grpc/grpc-js'
import protoLoader from '@grpc/proto-loader'
import {Message} from 'apache-arrow'
import {InfluxDBClient} from '@influxdata/influxdb3-client'
import {startServer} from './gw_server.mjs'
import {decodeFlightData} from './flightsql_client.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const def = protoLoader.loadSync(path.join(root, 'proto', 'flight.proto'),
  {keepCase: true, longs: String, bytes: Buffer, defaults: true})
const flight = grpc.loadPackageDefinition(def).arrow.flight.protocol

const DB = 'slow'
const ROWS = 5000 // three engine batches of at most 2048 rows
const DELAY_MS = 400
const KEEPALIVE_MS = 100
const T0 = 1700000000000000000n

let s
let fc

before(async () => {
  s = await startServer(['--keepalive-interval', `${KEEPALIVE_MS}ms`,
    '--test-doget-batch-delay', `${DELAY_MS}ms`, '--max-concurrent-queries', '1'])
  fc = new flight.FlightService(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure())
  const lines = []
  for (let i = 0; i < ROWS; i++) lines.push(`m,host=h${i % 4} v=${i}i,f=${i / 2} ${T0 + BigInt(i)}`)
  const r = await fetch(`${s.url}/api/v3/write_lp?db=${DB}`, {method: 'POST', body: lines.join('\n'),
    headers: {Authorization: `Token ${s.token}`}})
  assert.equal(r.status, 204, await r.text())
})

after(async () => {
  fc.close()
  const r = await s.stop()
  assert.equal(r.code, 0, s.stderr())
})

function md() {
  const m = new grpc.Metadata()
  m.set('authorization', `Bearer ${s.token}`)
  return m
}

function ticket(sql) {
  return {ticket: Buffer.from(JSON.stringify({database: DB, sql_query: sql, query_type: 'sql'}))}
}

// DoGet, recording when each FlightData arrived: [{at, kind, rows, msg}], and the status.
function timedDoGet(sql, opts = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now()
    const got = []
    const call = fc.DoGet(ticket(sql), md(), opts)
    call.on('data', (d) => {
      const m = Message.decode(d.data_header)
      got.push({at: Date.now() - t0, kind: m.isSchema() ? 'schema' : 'batch',
        rows: m.isRecordBatch() ? m.header().length : 0, msg: d})
    })
    call.on('error', (e) => resolve({got, error: e}))
    call.on('end', () => resolve({got, error: null}))
    if (opts.cancelAfterMs) setTimeout(() => call.cancel(), opts.cancelAfterMs)
  })
}

async function activeQueries() {
  const r = await fetch(`${s.url}/metrics`, {headers: {Authorization: `Bearer ${s.token}`}})
  return Number((await r.text()).match(/^strata_active_queries (\d+)$/m)[1])
}

const SQL = 'SELECT time, host, v, f FROM m ORDER BY time'

test('schema first, 0-row keep-alives on the interval, then the full result', async () => {
  const {got, error} = await timedDoGet(SQL)
  assert.equal(error, null)
  assert.equal(got[0].kind, 'schema')
  assert.ok(got[0].at < DELAY_MS, `schema after ${got[0].at} ms`)
  for (const g of got) assert.ok(g.msg.data_header.length > 0)
  const data = got.filter((g) => g.kind === 'batch' && g.rows > 0)
  const keep = got.filter((g) => g.kind === 'batch' && g.rows === 0)
  assert.equal(data.reduce((n, g) => n + g.rows, 0), ROWS)
  // three waits of DELAY_MS with a KEEPALIVE_MS interval: keep-alives in each wait
  assert.ok(keep.length >= 3, `${keep.length} keep-alives`)
  const firstData = data[0].at
  assert.ok(keep.some((k) => k.at < firstData), 'a keep-alive before the first data batch')
  for (let i = 1; i < keep.length; i++) {
    const gap = keep[i].at - keep[i - 1].at
    assert.ok(gap >= KEEPALIVE_MS / 2, `keep-alives ${gap} ms apart`)
  }
  // the whole stream decodes to the exact result, keep-alives included
  const {batches} = await decodeFlightData(got.map((g) => g.msg))
  let i = 0
  for (const b of batches) {
    for (let r = 0; r < b.numRows; r++, i++) {
      assert.equal(b.getChild('time').data[0].values[r], T0 + BigInt(i))
      assert.equal(b.getChild('host').get(r), `h${i % 4}`)
      assert.equal(b.getChild('v').get(r), BigInt(i))
      assert.equal(b.getChild('f').get(r), i / 2)
    }
  }
  assert.equal(i, ROWS)
})

test('the official InfluxDB 3 client gets the full result through the keep-alives', async () => {
  const client = new InfluxDBClient({host: s.url, token: s.token, database: DB})
  try {
    let i = 0
    for await (const row of client.query(SQL)) {
      assert.equal(row.host, `h${i % 4}`)
      assert.equal(row.v, i)
      assert.equal(row.f, i / 2)
      i++
    }
    assert.equal(i, ROWS)
  } finally {
    await client.close()
  }
})

async function slotFreed() {
  for (let k = 0; k < 100 && (await activeQueries()) !== 0; k++) await new Promise((r) => setTimeout(r, 20))
  assert.equal(await activeQueries(), 0)
  // with --max-concurrent-queries 1 this is refused while the slot is held
  const {got, error} = await timedDoGet('SELECT count(*) AS n FROM m')
  assert.equal(error, null)
  const {batches} = await decodeFlightData(got.map((g) => g.msg))
  assert.equal(batches.reduce((n, b) => n + b.numRows, 0), 1)
}

test('a deadline shorter than the query ends it and frees the slot', async () => {
  const {got, error} = await timedDoGet(SQL, {deadline: Date.now() + 2 * DELAY_MS - 100})
  assert.ok(error, 'the call failed')
  assert.equal(error.code, grpc.status.DEADLINE_EXCEEDED, error.message)
  assert.equal(got[0].kind, 'schema')
  assert.ok(got.some((g) => g.rows === 0 && g.kind === 'batch'), 'keep-alives before the deadline')
  await slotFreed()
})

test('a cancel during the wait frees the slot', async () => {
  const {error} = await timedDoGet(SQL, {cancelAfterMs: DELAY_MS / 2})
  assert.ok(error)
  assert.equal(error.code, grpc.status.CANCELLED)
  await slotFreed()
})

test('the delay setting is checked at start and off by default', async () => {
  const {spawnSync} = await import('node:child_process')
  const r = spawnSync(process.env.STRATAD, ['--test-doget-batch-delay', '2m', '--data-dir', '/nonexistent/x'],
    {encoding: 'utf8'})
  assert.notEqual(r.status, 0)
  assert.match(r.stderr, /--test-doget-batch-delay: must be 0\.\.60s/)
  const h = spawnSync(process.env.STRATAD, ['--help'], {encoding: 'utf8'})
  assert.match(h.stdout, /--test-doget-batch-delay DURATION\n\s+tests only: .*\n\s+env STRATA_TEST_DOGET_BATCH_DELAY, default 0/)
})
