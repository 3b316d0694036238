// flightsql_nested_decode.test.mjs: the real apache-arrow package decodes what Strata's
// nested Arrow encoder wrote (the Flight SQL metadata types: dense union with
// non-contiguous type ids, list, map, struct, binary, ints of every width) and every value
// is compared with the expectations written next to it (tests/unit/arrow/
// arrow_nested_fixture.c). Run by tests/unit/arrow/run_node_arrow.sh with
// ARROW_NESTED_FIXTURES=DIR.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {RecordBatchReader, Type} from 'apache-arrow'

const dir = process.env.ARROW_NESTED_FIXTURES
const want = JSON.parse(fs.readFileSync(path.join(dir, 'nested.json'), 'utf8'))

function unionChildName(vec, data, i) {
  const tid = data.typeIds[i]
  return vec.type.children[vec.type.typeIdToChildIndex[tid]].name
}

test('schema: every nested type as written', async () => {
  const reader = await RecordBatchReader.from(fs.readFileSync(path.join(dir, 'nested.arrows')))
  await reader.open()
  const f = reader.schema.fields
  assert.deepEqual(f.map((x) => x.name), ['id', 'u', 'bin', 'st', 'lst'])
  assert.equal(f[0].type.typeId, Type.Int)
  assert.equal(f[0].type.bitWidth, 32)
  assert.equal(f[0].type.isSigned, false)
  assert.equal(f[0].nullable, false)
  assert.equal(f[1].type.typeId, Type.Union)
  assert.equal(f[1].type.mode, 1) // Dense
  assert.deepEqual(Array.from(f[1].type.typeIds), [5, 1, 7, 0, 3])
  assert.deepEqual(f[1].type.children.map((c) => c.name), ['s', 'b', 'l', 'm', 'x'])
  const m = f[1].type.children[3]
  assert.equal(m.type.typeId, Type.Map)
  assert.equal(m.type.keysSorted, false)
  const entries = m.type.children[0]
  assert.equal(entries.name, 'entries')
  assert.equal(entries.nullable, false)
  assert.deepEqual(entries.type.children.map((c) => [c.name, c.nullable]), [['key', false], ['value', true]])
  assert.equal(entries.type.children[1].type.typeId, Type.List)
  assert.equal(f[2].type.typeId, Type.Binary)
  assert.equal(f[3].type.typeId, Type.Struct)
  assert.equal(f[3].type.children[0].type.bitWidth, 16)
  assert.equal(f[4].type.typeId, Type.List)
  assert.equal(f[4].type.children[0].type.bitWidth, 8)
})

test('every value of 300 rows across the split batches', async () => {
  const reader = await RecordBatchReader.from(fs.readFileSync(path.join(dir, 'nested.arrows')))
  let i = 0
  let batches = 0
  for await (const b of reader) {
    batches++
    const u = b.getChild('u')
    for (let r = 0; r < b.numRows; r++, i++) {
      const w = want.rows[i]
      const where = `row ${i}`
      assert.equal(b.getChild('id').get(r), w.id, where)
      assert.equal(unionChildName(u, u.data[0], r), w.u.type, where)
      const v = u.get(r)
      switch (w.u.type) {
        case 's': case 'b': assert.equal(v, w.u.v, where); break
        case 'x': assert.equal(v, BigInt(w.u.v), where); break
        case 'l': assert.deepEqual(v === null ? null : [...v], w.u.v, where); break
        case 'm': {
          const got = []
          for (const [k, vals] of v) got.push([k, vals === null ? null : [...vals]])
          assert.deepEqual(got, w.u.v, where)
          break
        }
      }
      const bin = b.getChild('bin').get(r)
      assert.deepEqual(bin === null ? null : Array.from(bin), w.bin, where)
      const st = b.getChild('st').get(r)
      assert.deepEqual(st === null ? null : {a: st.a, b: st.b}, w.st, where)
      const lst = b.getChild('lst').get(r)
      assert.deepEqual(lst === null ? null : [...lst], w.lst, where)
    }
  }
  assert.equal(i, 300)
  assert.equal(batches, want.batches) // the split batches and the 0-row keep-alive one
  assert.ok(batches > 4)
})
