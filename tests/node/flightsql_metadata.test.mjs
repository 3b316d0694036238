// flightsql_metadata.test.mjs: Flight SQL's metadata commands against the real stratad,
// through grpc-js and decoded by apache-arrow (flightsql_client.mjs):
//   - CommandGetSqlInfo: the exact schema (dense union of utf8, bool, int64, int32,
//     list<utf8>, map<int32, list<int32>>), every value, the ids in the order asked,
//     unknown ids left out, no database header needed; then every claim checked against
//     the server itself (functions bind, CAST pairs, identifier folding, NULL order,
//     no UNION, column aliases, name-length limits);
//   - CommandGetTables with include_schema: each table_schema decodes to the schema a
//     SELECT * of that table returns (names, types, nullability, iox metadata), views
//     included, quotes in table names, filters; GetSchema agrees with GetFlightInfo;
//   - errors: too many ids, unknown database, missing credential.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import grpc from '@grpc/grpc-js'
import {Type} from 'apache-arrow'
import {startServer} from './gw_server.mjs'
import {FlightSqlClient, decodeSchema, decodeFlightData} from './flightsql_client.mjs'

let s
let c
const DB = 'meta'

before(async () => {
  s = await startServer()
  c = new FlightSqlClient(s.port, s.token, {database: DB})
  const lp = ['cpu,host=a,region=eu usage=1.5,count=3i,ok=true,msg="x" 1000',
    'cpu,host=b usage=2.5 2000', 'mem,host=a free=7u 1000', 'q"t,x=1 f=1i 5']
  const r = await fetch(`${s.url}/api/v3/write_lp?db=${DB}`, {method: 'POST', body: lp.join('\n'),
    headers: {Authorization: `Token ${s.token}`}})
  assert.equal(r.status, 204, await r.text())
})

after(async () => {
  c.close()
  const r = await s.stop()
  assert.equal(r.code, 0, s.stderr())
})

async function sql(query) {
  const {rows} = await c.execute('CommandStatementQuery', {query})
  return rows
}

// ---- GetSqlInfo -----------------------------------------------------------------------

const NUMERIC = ['abs', 'ceil', 'ceiling', 'exp', 'floor', 'ln', 'log10', 'pow', 'power', 'round', 'sqrt']
const STRING = ['char_length', 'character_length', 'concat', 'length', 'lower', 'replace', 'substr',
  'substring', 'trim', 'upper']
const SYSTEM = ['coalesce', 'nullif']
const DATETIME = ['date_bin', 'date_trunc', 'now']
// SqlSupportsConvert: BIGINT 0, BIT 2, FLOAT 6, TIMESTAMP 16, VARCHAR 19
const CONVERT = {0: [2, 6, 16, 19], 2: [0, 6, 19], 6: [0, 2, 19], 16: [0, 19], 19: [0, 2, 6, 16]}

function expected(version, nameMax) {
  return new Map([
    [0, ['string_value', 'Strata']], [1, ['string_value', version]],
    [2, ['string_value', '1.0.0']], [3, ['bool_value', false]], [4, ['bool_value', true]],
    [5, ['bool_value', false]], [8, ['int32_bitmask', 0]], [9, ['bool_value', false]],
    [100, ['int32_bitmask', 0]], [500, ['bool_value', false]], [501, ['bool_value', false]],
    [502, ['bool_value', false]], [503, ['int32_bitmask', 3]], [504, ['string_value', '"']],
    [506, ['bool_value', true]], [507, ['int32_bitmask', 0]], [509, ['string_list', NUMERIC]],
    [510, ['string_list', STRING]], [511, ['string_list', SYSTEM]],
    [512, ['string_list', DATETIME]], [513, ['string_value', '\\']],
    [515, ['bool_value', true]], [517, ['int32_to_int32_list_map', CONVERT]],
    [529, ['string_value', 'schema']], [531, ['string_value', 'catalog']],
    [536, ['bool_value', false]], [537, ['bool_value', false]], [540, ['int32_bitmask', 0]],
    [543, ['bigint_value', BigInt(nameMax)]], [559, ['bigint_value', BigInt(nameMax)]],
    [563, ['bool_value', false]], [572, ['bool_value', false]], [573, ['bool_value', false]],
  ])
}

// Row i of a GetSqlInfo result: [info_name, union child name, plain JS value].
function infoRows(batches) {
  const out = []
  for (const b of batches) {
    const names = b.getChild('info_name')
    const v = b.getChild('value')
    const t = v.type
    for (let i = 0; i < b.numRows; i++) {
      const child = t.children[t.typeIdToChildIndex[v.data[0].typeIds[i]]].name
      let val = v.get(i)
      if (child === 'string_list') val = [...val]
      if (child === 'int32_to_int32_list_map') {
        const m = {}
        for (const [k, list] of val) m[k] = [...list]
        val = m
      }
      out.push([names.get(i), child, val])
    }
  }
  return out
}

test('GetSqlInfo: schema as the Flight SQL spec gives it', async () => {
  const info = await c.getFlightInfo('CommandGetSqlInfo', {}, null)
  const sch = await decodeSchema(info.schema)
  assert.deepEqual(sch.fields.map((f) => [f.name, f.nullable]), [['info_name', false], ['value', false]])
  assert.equal(sch.fields[0].type.typeId, Type.Int)
  assert.equal(sch.fields[0].type.bitWidth, 32)
  assert.equal(sch.fields[0].type.isSigned, false)
  const u = sch.fields[1].type
  assert.equal(u.typeId, Type.Union)
  assert.equal(u.mode, 1) // dense
  assert.deepEqual(Array.from(u.typeIds), [0, 1, 2, 3, 4, 5])
  assert.deepEqual(u.children.map((f) => [f.name, f.nullable]), [['string_value', false],
    ['bool_value', false], ['bigint_value', false], ['int32_bitmask', false],
    ['string_list', false], ['int32_to_int32_list_map', false]])
  assert.deepEqual(u.children.map((f) => f.type.typeId), [Type.Utf8, Type.Bool, Type.Int, Type.Int,
    Type.List, Type.Map])
  assert.equal(u.children[2].type.bitWidth, 64)
  assert.equal(u.children[3].type.bitWidth, 32)
  assert.equal(u.children[4].type.children[0].type.typeId, Type.Utf8)
  const entries = u.children[5].type.children[0]
  assert.equal(entries.name, 'entries')
  assert.deepEqual(entries.type.children.map((f) => [f.name, f.nullable]), [['key', false], ['value', true]])
  assert.equal(entries.type.children[1].type.children[0].type.bitWidth, 32)
  // GetSchema says the same
  const gs = await c.getSchema('CommandGetSqlInfo', {}, null)
  assert.deepEqual(Buffer.from(gs.schema), Buffer.from(info.schema))
})

test('GetSqlInfo: every value, in id order, without a database header', async () => {
  const version = (await (await fetch(`${s.url}/ping`)).json()).version
  const nameMax = await findNameMax()
  const want = expected(version, nameMax)
  const {batches} = await c.execute('CommandGetSqlInfo', {}, null)
  const rows = infoRows(batches)
  assert.deepEqual(rows.map((r) => r[0]), [...want.keys()])
  for (const [id, child, val] of rows) {
    const [wc, wv] = want.get(id)
    assert.equal(child, wc, `id ${id}`)
    assert.deepEqual(val, wv, `id ${id}`)
  }
})

test('GetSqlInfo: the ids asked for, in that order; unknown ones left out', async () => {
  const {rows, batches} = await c.execute('CommandGetSqlInfo', {info: [504, 0, 99999, 517, 3, 504]})
  assert.equal(rows.length, 5)
  assert.deepEqual(infoRows(batches).map((r) => [r[0], r[1]]), [[504, 'string_value'],
    [0, 'string_value'], [517, 'int32_to_int32_list_map'], [3, 'bool_value'], [504, 'string_value']])
  const none = await c.execute('CommandGetSqlInfo', {info: [7777]})
  assert.equal(none.rows.length, 0)
})

test('GetSqlInfo: too many ids is RESOURCE_EXHAUSTED; no credential is UNAUTHENTICATED', async () => {
  await assert.rejects(c.getFlightInfo('CommandGetSqlInfo', {info: Array.from({length: 1025}, (_, i) => i)}),
    (e) => e.code === grpc.status.RESOURCE_EXHAUSTED && /limit 1024/.test(e.details))
  const bare = new FlightSqlClient(s.port, 'x'.repeat(40))
  await assert.rejects(bare.getFlightInfo('CommandGetSqlInfo'), (e) => e.code === grpc.status.UNAUTHENTICATED)
  bare.close()
})

// ---- each claim, checked against the server -------------------------------------------

async function rejects(query, re) {
  await assert.rejects(sql(query), (e) => re.test(e.details), query)
}

test('claim: every listed function binds', async () => {
  for (const fn of [...NUMERIC, ...STRING, ...SYSTEM, ...DATETIME]) {
    // a wrong arity or argument type is fine; an unknown function is not
    try {
      await sql(`SELECT ${fn}() FROM cpu LIMIT 1`)
    } catch (e) {
      assert.doesNotMatch(e.details, /unknown function|does not exist|no function/i, fn)
    }
  }
  await rejects('SELECT no_such_fn(1) FROM cpu', /no_such_fn/)
})

test('claim: the CAST pairs of SqlSupportsConvert, and no other', async () => {
  const lit = {0: '1', 2: 'true', 6: '1.5', 16: "'2024-01-01T00:00:00Z'", 19: "'1'"}
  const name = {0: 'BIGINT', 2: 'BOOLEAN', 6: 'DOUBLE', 16: 'TIMESTAMP', 19: 'VARCHAR'}
  const lit2 = {16: "'2024-01-01T00:00:00Z'"} // VARCHAR -> TIMESTAMP needs a timestamp text
  for (const [from, tos] of Object.entries(CONVERT)) {
    for (const to of Object.keys(name).map(Number)) {
      if (Number(from) === to) continue
      const src = Number(from) === 19 && lit2[to] ? lit2[to] : lit[from]
      const q = `SELECT CAST(CAST(${src} AS ${name[from]}) AS ${name[to]})`
      if (tos.includes(to)) await sql(q)
      else await rejects(q, /cannot cast/)
    }
  }
})

test('claim: unquoted identifiers fold to lower case, quoted ones do not', async () => {
  assert.equal((await sql('SELECT USAGE FROM CPU ORDER BY time LIMIT 1'))[0].usage, 1.5)
  await rejects('SELECT "USAGE" FROM cpu', /USAGE/)
  assert.equal((await sql('SELECT "f" FROM "q""t"'))[0].f, 1n)
})

test('claim: NULLs sort high (last ascending, first descending)', async () => {
  const asc = (await sql('SELECT msg FROM cpu ORDER BY msg')).map((r) => r.msg)
  assert.deepEqual(asc, ['x', null])
  const desc = (await sql('SELECT msg FROM cpu ORDER BY msg DESC')).map((r) => r.msg)
  assert.deepEqual(desc, [null, 'x'])
})

test('claim: column aliases work, UNION does not', async () => {
  assert.equal((await sql('SELECT usage AS u FROM cpu ORDER BY time LIMIT 1'))[0].u, 1.5)
  await rejects('SELECT 1 UNION SELECT 2', /UNION/)
  await rejects('SELECT 1 UNION ALL SELECT 2', /UNION/)
})

// The name-length limit, found from outside: the longest table name a write accepts.
async function findNameMax() {
  let good = 1
  let bad = 65536
  while (bad - good > 1) {
    const mid = Math.floor((good + bad) / 2)
    const r = await fetch(`${s.url}/api/v3/write_lp?db=names`, {method: 'POST',
      body: `${'t'.repeat(mid)} f=1i 1`, headers: {Authorization: `Token ${s.token}`}})
    if (r.status === 204) good = mid
    else bad = mid
  }
  return good
}

// ---- GetTables with schemas -------------------------------------------------------------

test('GetTables with include_schema: each table_schema is its SELECT * schema', async () => {
  const {info, schema, rows} = await c.execute('CommandGetTables', {include_schema: true})
  assert.deepEqual(schema.fields.map((f) => [f.name, f.nullable, f.type.typeId]), [
    ['catalog_name', true, Type.Utf8], ['db_schema_name', true, Type.Utf8],
    ['table_name', false, Type.Utf8], ['table_type', false, Type.Utf8],
    ['table_schema', false, Type.Binary]])
  const gs = await c.getSchema('CommandGetTables', {include_schema: true})
  assert.deepEqual(Buffer.from(gs.schema), Buffer.from(info.schema))
  assert.deepEqual(rows.map((r) => [r.catalog_name, r.db_schema_name, r.table_name, r.table_type]), [
    ['public', 'information_schema', 'columns', 'VIEW'],
    ['public', 'information_schema', 'tables', 'VIEW'],
    ['public', 'iox', 'cpu', 'BASE TABLE'], ['public', 'iox', 'mem', 'BASE TABLE'],
    ['public', 'iox', 'q"t', 'BASE TABLE']])
  for (const r of rows) {
    const got = await decodeSchema(r.table_schema)
    const qname = `"${r.db_schema_name}"."${r.table_name.replaceAll('"', '""')}"`
    const fi = await c.getFlightInfo('CommandStatementQuery', {query: `SELECT * FROM ${qname}`})
    const want = await decodeSchema(fi.schema)
    assert.deepEqual(got.fields.map((f) => [f.name, f.nullable, String(f.type),
      f.metadata.get('iox::column::type')]), want.fields.map((f) => [f.name, f.nullable,
      String(f.type), f.metadata.get('iox::column::type')]), r.table_name)
  }
  const cpu = await decodeSchema(rows[2].table_schema)
  assert.deepEqual(cpu.fields.map((f) => [f.name, String(f.type), f.metadata.get('iox::column::type')]), [
    ['time', 'Timestamp<NANOSECOND>', 'iox::column_type::timestamp'],
    ['host', 'Utf8', 'iox::column_type::tag'], ['region', 'Utf8', 'iox::column_type::tag'],
    ['usage', 'Float64', 'iox::column_type::field::float'],
    ['count', 'Int64', 'iox::column_type::field::integer'],
    ['ok', 'Bool', 'iox::column_type::field::boolean'],
    ['msg', 'Utf8', 'iox::column_type::field::string']])
})

test('GetTables: filters, table types, and without schemas', async () => {
  let r = await c.execute('CommandGetTables', {include_schema: true, table_name_filter_pattern: 'c%',
    table_types: ['BASE TABLE']})
  assert.deepEqual(r.rows.map((x) => x.table_name), ['cpu'])
  r = await c.execute('CommandGetTables', {db_schema_filter_pattern: 'information\\_schema',
    table_types: ['VIEW']})
  assert.deepEqual(r.rows.map((x) => x.table_name), ['columns', 'tables'])
  assert.equal(r.schema.fields.length, 4)
  r = await c.execute('CommandGetTables', {table_name_filter_pattern: 'q"_', include_schema: true})
  assert.deepEqual(r.rows.map((x) => x.table_name), ['q"t'])
  r = await c.execute('CommandGetTables', {catalog: 'other', include_schema: true})
  assert.equal(r.rows.length, 0)
  r = await c.execute('CommandGetTables', {table_types: ['SYSTEM TABLE'], include_schema: true})
  assert.equal(r.rows.length, 0)
  // a pathological pattern stays fast (no exponential backtracking)
  const t0 = Date.now()
  r = await c.execute('CommandGetTables', {table_name_filter_pattern: '%a'.repeat(200) + 'b'})
  assert.equal(r.rows.length, 0)
  assert.ok(Date.now() - t0 < 5000)
})

test('GetTables: unknown database is NOT_FOUND, too many table types RESOURCE_EXHAUSTED', async () => {
  await assert.rejects(c.getFlightInfo('CommandGetTables', {include_schema: true}, 'nope'),
    (e) => e.code === grpc.status.NOT_FOUND)
  await assert.rejects(c.getFlightInfo('CommandGetTables', {table_types: Array(17).fill('VIEW')}),
    (e) => e.code === grpc.status.RESOURCE_EXHAUSTED)
})

test('metadata results through DoGet keep the FlightData rules', async () => {
  const {msgs} = await c.execute('CommandGetSqlInfo', {})
  assert.ok(msgs.length >= 2)
  for (const m of msgs) assert.ok(m.data_header.length > 0)
  const {batches} = await decodeFlightData(msgs)
  assert.ok(batches.length >= 1)
})
