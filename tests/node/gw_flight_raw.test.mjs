// gw_flight_raw.test.mjs: raw Flight DoGet streams from stratad through @grpc/grpc-js,
// decoded with apache-arrow and compared value by value (nulls, BigInt int64, raw ns
// timestamps); the FlightData rules (schema first with app_metadata, no empty
// data_header, every message <= 2 MiB); bad tickets; oversized requests; a client that
// stops reading mid-stream and one that cancels: the server stays healthy and frees the
// query (strata_active_queries returns to 0).
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import grpc from '@grpc/grpc-js'
import protoLoader from '@grpc/proto-loader'
import {RecordBatchReader} from 'apache-arrow'
import {startServer} from './gw_server.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const def = protoLoader.loadSync(path.join(root, 'proto', 'flight.proto'),
  {keepCase: true, longs: String, bytes: Buffer, defaults: true})
const flight = grpc.loadPackageDefinition(def).arrow.flight.protocol
const T0 = 1700000000000000000n

let s
let fc
let md

before(async () => {
  s = await startServer(['--keepalive-interval', '10ms', '--max-grpc-message-size', '64KiB'])
  fc = new flight.FlightService(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure(),
    {'grpc.max_receive_message_length': 8 << 20})
  md = new grpc.Metadata()
  md.set('authorization', `Bearer ${s.token}`)
  const lines = []
  for (let i = 0; i < 30000; i++) {
    const usage = i % 7 === 0 ? '' : `usage=${i / 4},`
    lines.push(`raw,host=h${i % 3} ${usage}n=${i - 15000}i,pad="${'x'.repeat(100)}" ${T0 + BigInt(i)}`)
  }
  const r = await fetch(`${s.url}/api/v3/write_lp?db=rawdb`, {method: 'POST', body: lines.join('\n'),
    headers: {Authorization: `Token ${s.token}`}})
  assert.equal(r.status, 204, await r.text())
})

after(async () => {
  fc.close()
  const r = await s.stop()
  assert.equal(r.code, 0, s.stderr())
})

function ticket(obj) {
  return {ticket: Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj))}
}

function doGet(t, meta = md) {
  return new Promise((resolve, reject) => {
    const msgs = []
    const call = fc.DoGet(t, meta)
    call.on('data', (d) => msgs.push(d))
    call.on('error', reject)
    call.on('end', () => resolve(msgs))
  })
}

async function decode(msgs) {
  const parts = []
  for (const m of msgs) {
    const len = Buffer.alloc(4)
    len.writeInt32LE(m.data_header.length)
    parts.push(len, m.data_header, m.data_body)
  }
  const reader = await RecordBatchReader.from(Buffer.concat(parts))
  const batches = []
  for await (const b of reader) batches.push(b)
  return {schema: batches.length ? batches[0].schema : reader.schema, batches}
}

async function activeQueries() {
  const r = await fetch(`${s.url}/metrics`, {headers: {Authorization: `Bearer ${s.token}`}})
  const m = (await r.text()).match(/^strata_active_queries (\d+)$/m)
  return Number(m[1])
}

test('DoGet stream: framing rules and exact values', async () => {
  const msgs = await doGet(ticket({database: 'rawdb', sql_query:
    'SELECT time, host, usage, n, pad FROM raw ORDER BY time', query_type: 'sql', params: {}}))
  assert.ok(msgs.length > 2)
  for (const m of msgs) {
    assert.ok(m.data_header.length > 0, 'never an empty data_header')
    const size = m.data_header.length + m.data_body.length + 16
    assert.ok(size <= 2 * 1024 * 1024 + 64, `FlightData of ${size} bytes`)
  }
  const {schema, batches} = await decode(msgs)
  assert.deepEqual(schema.fields.map((f) => f.name), ['time', 'host', 'usage', 'n', 'pad'])
  assert.equal(schema.fields[1].metadata.get('iox::column::type'), 'iox::column_type::tag')
  let i = 0
  for (const b of batches) {
    for (let r = 0; r < b.numRows; r++, i++) {
      assert.equal(b.getChildAt(0).data[0].values[r], T0 + BigInt(i)) // raw ns
      assert.equal(b.getChildAt(1).get(r), `h${i % 3}`)
      assert.equal(b.getChildAt(2).get(r), i % 7 === 0 ? null : i / 4)
      assert.equal(b.getChildAt(3).get(r), BigInt(i - 15000))
    }
  }
  assert.equal(i, 30000)
})

test('keys in any order, parameters, aliases', async () => {
  const msgs = await doGet(ticket('{"params":{"h":"h1","lo":100},"query_type":"sql",' +
    '"sql_query":"SELECT n FROM raw WHERE host = $h AND n < $lo ORDER BY time LIMIT 3",' +
    '"bucket":"rawdb"}'))
  const {batches} = await decode(msgs)
  const got = batches.flatMap((b) => Array.from(b.getChildAt(0).toArray()))
  assert.deepEqual(got, [-14999n, -14996n, -14993n])
})

test('bad tickets are INVALID_ARGUMENT', async () => {
  for (const t of ['', 'not json', '{"database":"rawdb"}', '{"sql_query":"SELECT 1"}',
    '{"database":"rawdb","sql_query":"SELECT 1","query_type":"graphql"}',
    '{"database":"rawdb","sql_query":"SELECT 1","params":{"x":[1,2]}}',
    '{"database":"rawdb","database":"x","sql_query":"SELECT 1"}', '\xff\xfe']) {
    await assert.rejects(doGet(ticket(t)), (e) => e.code === grpc.status.INVALID_ARGUMENT, t)
  }
})

test('no credential, wrong credential', async () => {
  await assert.rejects(doGet(ticket({database: 'rawdb', sql_query: 'SELECT 1'}), new grpc.Metadata()),
    (e) => e.code === grpc.status.UNAUTHENTICATED && e.metadata.get('strata-code')[0] === '8')
  const m = new grpc.Metadata()
  m.set('authorization', 'Bearer ' + 'z'.repeat(40))
  await assert.rejects(doGet(ticket({database: 'rawdb', sql_query: 'SELECT 1'}), m),
    (e) => e.code === grpc.status.UNAUTHENTICATED)
})

test('oversized request message is RESOURCE_EXHAUSTED', async () => {
  const big = {database: 'rawdb', sql_query: 'SELECT 1 -- ' + 'x'.repeat(100000)}
  await assert.rejects(doGet(ticket(big)), (e) => e.code === grpc.status.RESOURCE_EXHAUSTED)
})

test('a client that stops reading, then cancels, frees the query', async () => {
  const call = fc.DoGet(ticket({database: 'rawdb', sql_query: 'SELECT * FROM raw'}), md)
  let n = 0
  const finished = new Promise((r) => { call.on('error', () => r()); call.on('end', () => r()) })
  await new Promise((resolve) => {
    call.on('data', () => { if (++n === 2) { call.pause(); resolve() } })
    call.on('end', resolve)
  })
  await new Promise((r) => setTimeout(r, 300))
  call.cancel()
  call.resume()
  await finished
  for (let k = 0; k < 100 && (await activeQueries()) !== 0; k++) await new Promise((r) => setTimeout(r, 50))
  assert.equal(await activeQueries(), 0)
  const again = await doGet(ticket({database: 'rawdb', sql_query: 'SELECT count(*) FROM raw'}))
  assert.ok(again.length >= 2)
})

test('unknown database', async () => {
  await assert.rejects(doGet(ticket({database: 'nope_db', sql_query: 'SELECT 1'})),
    (e) => e.code === grpc.status.NOT_FOUND || e.code === grpc.status.INVALID_ARGUMENT)
})

// ---- Flight SQL prepared statements: DoAction + DoPut (parameters as Arrow IPC) ----------

import {Message, Table, Utf8, tableToIPC, vectorFromArray} from 'apache-arrow'

const sqlDef = protoLoader.loadSync([path.join(root, 'proto', 'flight_sql.proto'),
  'google/protobuf/any.proto'], {keepCase: true, longs: String, bytes: Buffer, defaults: true,
  includeDirs: [path.join(root, 'proto'), '/usr/include']})
const sqlPkg = grpc.loadPackageDefinition(sqlDef)
const SQL = sqlPkg.arrow.flight.protocol.sql
const anyT = sqlPkg.google.protobuf.Any

function packAny(name, type, value) {
  return anyT.serialize({type_url: `type.googleapis.com/arrow.flight.protocol.sql.${name}`,
    value: type.serialize(value)})
}

// Split an IPC stream into its messages: [{header, body}].
function ipcMessages(buf) {
  const out = []
  let off = 0
  while (off + 8 <= buf.length) {
    let len = buf.readInt32LE(off)
    let hoff = off + 4
    if (len === -1) { len = buf.readInt32LE(off + 4); hoff = off + 8 }
    if (len === 0) break
    const header = buf.subarray(hoff, hoff + len)
    const bodyLen = Number(Message.decode(header).bodyLength)
    out.push({header, body: buf.subarray(hoff + len, hoff + len + bodyLen)})
    off = hoff + len + bodyLen
  }
  return out
}

test('prepared statement with parameters bound through DoPut', async () => {
  const mdDb = md.clone()
  mdDb.set('database', 'rawdb')
  const create = await new Promise((resolve, reject) => {
    const res = []
    const call = fc.DoAction({type: 'CreatePreparedStatement', body: packAny(
      'ActionCreatePreparedStatementRequest', SQL.ActionCreatePreparedStatementRequest,
      {query: 'SELECT n FROM raw WHERE host = $h ORDER BY time LIMIT 2'})}, mdDb)
    call.on('data', (d) => res.push(d))
    call.on('error', reject)
    call.on('end', () => resolve(res))
  })
  assert.equal(create.length, 1)
  const any = anyT.deserialize(create[0].body)
  const result = SQL.ActionCreatePreparedStatementResult.deserialize(any.value)
  const handle = result.prepared_statement_handle
  const cmd = packAny('CommandPreparedStatementQuery', SQL.CommandPreparedStatementQuery,
    {prepared_statement_handle: handle})
  const params = ipcMessages(Buffer.from(tableToIPC(new Table({h: vectorFromArray(['h2'], new Utf8())}), 'stream')))
  assert.equal(params.length, 2)
  const put = await new Promise((resolve, reject) => {
    const res = []
    const call = fc.DoPut(mdDb)
    call.on('data', (d) => res.push(d))
    call.on('error', reject)
    call.on('end', () => resolve(res))
    call.write({flight_descriptor: {type: 'CMD', cmd}, data_header: params[0].header})
    call.write({data_header: params[1].header, data_body: params[1].body})
    call.end()
  })
  assert.equal(put.length, 1)
  const newHandle = SQL.DoPutPreparedStatementResult.deserialize(put[0].app_metadata)
    .prepared_statement_handle
  const info = await new Promise((resolve, reject) => fc.GetFlightInfo({type: 'CMD',
    cmd: packAny('CommandPreparedStatementQuery', SQL.CommandPreparedStatementQuery,
      {prepared_statement_handle: newHandle})}, mdDb, (e, r) => (e ? reject(e) : resolve(r))))
  const {batches} = await decode(await doGet(info.endpoint[0].ticket))
  const got = batches.flatMap((b) => Array.from(b.getChildAt(0).toArray()))
  assert.deepEqual(got, [-14998n, -14995n])
})
