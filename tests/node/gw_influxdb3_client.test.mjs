// gw_influxdb3_client.test.mjs: the official @influxdata/influxdb3-client (2.1.0),
// unmodified, against the real stratad on 127.0.0.1:0: HTTP writes (v2 default, v3 with
// noSync, gzip above the threshold, Points with every field type), Flight DoGet queries
// back (values, types, tags, NULLs, $parameters, empty results), errors surfacing as the
// right gRPC status, and getServerVersion (/ping).
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {InfluxDBClient, Point} from '@influxdata/influxdb3-client'
import {startServer} from './gw_server.mjs'

let s
let client
const DB = 'jsdb'
const T0 = 1700000000000000000n

before(async () => {
  s = await startServer()
  client = new InfluxDBClient({host: s.url, token: s.token, database: DB})
})

after(async () => {
  await client.close()
  const r = await s.stop()
  assert.equal(r.code, 0, s.stderr())
})

async function rows(sql, opts, db = DB) {
  const out = []
  for await (const r of client.query(sql, db, opts)) out.push(r)
  return out
}

test('getServerVersion reads /ping', async () => {
  assert.match(await client.getServerVersion(), /^\d+\.\d+\.\d+/)
})

test('write line protocol, query it back with types, tags and NULLs', async () => {
  await client.write([
    `cpu,host=a,region=eu usage=0.5,count=3i,ok=true,msg="hi" ${T0}`,
    `cpu,host=b\\ c,region=us usage=1.5,count=-7i,ok=false ${T0 + 1000000000n}`,
    `cpu,host=a,region=eu count=9i ${T0 + 2000000000n}`,
  ].join('\n'))
  const r = await rows('SELECT time, host, region, usage, count, ok, msg FROM cpu ORDER BY time')
  assert.equal(r.length, 3)
  assert.equal(r[0].time, 1700000000000) // Timestamp(ns) as epoch ms through the client
  assert.equal(r[0].host, 'a')
  assert.equal(r[1].host, 'b c')
  assert.equal(r[0].usage, 0.5)
  assert.equal(r[0].count, 3) // field::integer becomes a JS number
  assert.equal(r[1].count, -7)
  assert.equal(r[0].ok, true)
  assert.equal(r[1].ok, false)
  assert.equal(r[0].msg, 'hi')
  assert.equal(r[1].msg, null)
  assert.equal(r[2].usage, null)
  assert.equal(r[2].ok, null)
})

test('Points with every field type, written through /api/v2/write', async () => {
  const p = Point.measurement('pts').setTag('host', 'x y').setFloatField('f', 1.25)
    .setIntegerField('i', 42).setUintegerField('u', 7).setBooleanField('b', true)
    .setStringField('s', 'say "hi" \\ bye').setTimestamp(new Date(1700000000000))
  await client.write(p)
  const r = await rows('SELECT * FROM pts')
  assert.equal(r.length, 1)
  assert.equal(r[0].host, 'x y')
  assert.equal(r[0].f, 1.25)
  assert.equal(r[0].i, 42)
  assert.equal(Number(r[0].u), 7)
  assert.equal(r[0].b, true)
  assert.equal(r[0].s, 'say "hi" \\ bye')
})

test('noSync writes go to /api/v3/write_lp; precision ms', async () => {
  await client.write('ns v=1 1700000000000', DB, undefined, {noSync: true, precision: 'ms'})
  const r = await rows('SELECT v FROM ns')
  assert.equal(r.length, 1)
})

test('gzip bodies above the threshold', async () => {
  const lines = []
  for (let i = 0; i < 2000; i++) lines.push(`gz,host=h${i % 10} v=${i}i ${T0 + BigInt(i)}`)
  await client.write(lines.join('\n'))
  const r = await rows('SELECT count(*) AS n FROM gz')
  assert.equal(Number(r[0].n), 2000)
})

test('query parameters', async () => {
  const r = await rows('SELECT host, usage FROM cpu WHERE host = $host AND usage > $min',
    {params: {host: 'a', min: 0.1}})
  assert.equal(r.length, 1)
  assert.equal(r[0].host, 'a')
})

test('empty result and many rows', async () => {
  assert.deepEqual(await rows("SELECT * FROM cpu WHERE host = 'nobody'"), [])
  const lines = []
  for (let i = 0; i < 20000; i++) lines.push(`many v=${i}i ${T0 + BigInt(i)}`)
  await client.write(lines.join('\n'))
  const r = await rows('SELECT v FROM many')
  assert.equal(r.length, 20000)
})

test('a bad line rejects the v2 write with HTTP 400', async () => {
  await assert.rejects(client.write('cpu usage=1\nBADLINE'), (e) => e.statusCode === 400)
})

test('errors surface as gRPC statuses', async () => {
  await assert.rejects(rows('SELEC nonsense'), (e) => e.code === 'INVALID_ARGUMENT')
  await assert.rejects(rows('SELECT * FROM no_such_table'), (e) => e.code === 'INVALID_ARGUMENT')
  await assert.rejects(rows('SELECT 1', undefined, 'no_such_db'),
    (e) => e.code === 'NOT_FOUND' || e.code === 'INVALID_ARGUMENT')
  await assert.rejects(rows('SELECT 1', {type: 'influxql'}), (e) => e.code === 'UNIMPLEMENTED')
  const bad = new InfluxDBClient({host: s.url, token: 'x'.repeat(40), database: DB})
  await assert.rejects(async () => { for await (const _ of bad.query('SELECT 1')) {} },
    (e) => e.code === 'UNAUTHENTICATED')
  await assert.rejects(bad.write('m v=1'), (e) => e.statusCode === 401)
  await bad.close()
})

test('queryPoints uses the iox::column::type metadata', async () => {
  const pts = []
  for await (const p of client.queryPoints('SELECT * FROM cpu ORDER BY time', DB)) pts.push(p)
  assert.equal(pts.length, 3)
  assert.equal(pts[0].getTag('host'), 'a')
  assert.equal(pts[0].getFloatField('usage'), 0.5)
  assert.equal(pts[0].getIntegerField('count'), 3)
})
