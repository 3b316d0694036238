// arrow_decode.test.mjs: the real apache-arrow npm package decodes the Arrow
// IPC that Strata's C encoder (gateway/arrow) wrote, and every value is
// compared with what the encoder was given, including nulls, 64-bit
// integers as BigInt, raw nanosecond timestamps, NaN and -0.
//
// Fixtures come from tests/unit/arrow/arrow_fixtures.c (run through
// tests/unit/arrow/run_node_arrow.sh, ctest `node_arrow_decode`):
//   NAME.arrows  an IPC stream           -> tableFromIPC
//   NAME.flight  length-prefixed FlightData protobufs, as DoGet sends them
//                -> rebuilt into an IPC stream the way @influxdata/influxdb3-client
//                   does it (int32 length, data_header, data_body), then decoded
//   NAME.json    the expected schema and values
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  tableFromIPC, RecordBatchReader, Table, DataType, TimeUnit, Precision,
} from 'apache-arrow';

const dir = process.env.ARROW_FIXTURES;
if (!dir) throw new Error('set ARROW_FIXTURES to the fixture directory');
const names = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));

// Minimal protobuf reader for FlightData: field 2 data_header, 3 app_metadata,
// 1000 data_body (all length-delimited); anything else fails the test.
function varint(buf, pos) {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [Number(v), pos];
    shift += 7n;
  }
}

function parseFlightData(msg) {
  const out = { header: null, body: new Uint8Array(0), app: null };
  let pos = 0;
  while (pos < msg.length) {
    let key;
    [key, pos] = varint(msg, pos);
    const field = key >>> 3;
    assert.equal(key & 7, 2, `FlightData field ${field} is length-delimited`);
    let len;
    [len, pos] = varint(msg, pos);
    const bytes = msg.subarray(pos, pos + len);
    pos += len;
    if (field === 2) out.header = bytes;
    else if (field === 3) out.app = bytes;
    else if (field === 1000) out.body = bytes;
    else assert.fail(`unexpected FlightData field ${field}`);
  }
  assert.ok(out.header && out.header.length > 0, 'data_header is never empty');
  return out;
}

function readFlightFile(path) {
  const buf = readFileSync(path);
  const msgs = [];
  for (let pos = 0; pos < buf.length;) {
    const n = buf.readUInt32LE(pos);
    msgs.push(new Uint8Array(buf.buffer, buf.byteOffset + pos + 4, n));
    pos += 4 + n;
  }
  return msgs;
}

function checkType(f, want) {
  const t = f.type;
  switch (want.type) {
    case 'timestamp':
      assert.ok(DataType.isTimestamp(t), `${f.name} is a timestamp`);
      assert.equal(t.unit, TimeUnit.NANOSECOND);
      assert.equal(t.timezone, null);
      break;
    case 'string':
      assert.ok(DataType.isUtf8(t), `${f.name} is utf8`);
      break;
    case 'float':
      assert.ok(DataType.isFloat(t), `${f.name} is a float`);
      assert.equal(t.precision, Precision.DOUBLE);
      break;
    case 'integer':
    case 'unsigned':
      assert.ok(DataType.isInt(t), `${f.name} is an int`);
      assert.equal(t.bitWidth, 64);
      assert.equal(t.isSigned, want.type === 'integer');
      break;
    case 'boolean':
      assert.ok(DataType.isBool(t), `${f.name} is a bool`);
      break;
    case 'null':
      assert.ok(DataType.isNull(t), `${f.name} is null-typed`);
      break;
    default:
      assert.fail(`unknown expected type ${want.type}`);
  }
}

function rawTimestamps(vec) {
  const out = [];
  for (const d of vec.data) {
    for (let i = 0; i < d.length; i++) out.push(d.values[d.offset + i]);
  }
  return out;
}

// apache-arrow synthesizes one empty batch for a stream that has none.
function realBatches(batches, want) {
  if (want.record_batches === 0 && batches.length === 1 && batches[0].numRows === 0) return [];
  return batches;
}

function checkTable(table, want, label) {
  assert.equal(table.numRows, want.rows, `${label}: rows`);
  assert.equal(table.schema.fields.length, want.fields.length, `${label}: columns`);
  want.fields.forEach((wf, c) => {
    const f = table.schema.fields[c];
    const where = `${label}: column ${wf.name}`;
    assert.equal(f.name, wf.name, where);
    assert.equal(f.nullable, wf.nullable, `${where}: nullable`);
    checkType(f, wf);
    assert.equal(f.metadata.get('iox::column::type') ?? null, wf.iox, `${where}: iox metadata`);
    const vec = table.getChildAt(c);
    const raw = wf.type === 'timestamp' ? rawTimestamps(vec) : null;
    for (let r = 0; r < want.rows; r++) {
      const w = wf.values[r];
      const g = vec.get(r);
      const at = `${where} row ${r}`;
      if (w === null) {
        assert.equal(g, null, `${at}: null`);
        continue;
      }
      switch (wf.type) {
        case 'integer':
        case 'unsigned':
          assert.equal(typeof g, 'bigint', at);
          assert.equal(g, BigInt(w), at);
          break;
        case 'timestamp':
          assert.equal(raw[r], BigInt(w), `${at}: raw ns`);
          // .get() gives epoch milliseconds as a number (what influxdb3-js returns)
          assert.ok(Math.abs(g - Number(BigInt(w)) / 1e6) < 1e-3 * Math.max(1, Math.abs(g)),
            `${at}: ms ${g} vs ${w}`);
          break;
        case 'float':
          if (w === 'NaN') assert.ok(Number.isNaN(g), at);
          else if (w === 'Infinity') assert.equal(g, Infinity, at);
          else if (w === '-Infinity') assert.equal(g, -Infinity, at);
          else if (w === '-0') assert.ok(Object.is(g, -0), at);
          else assert.equal(g, w, at);
          break;
        default:
          assert.equal(g, w, at);
      }
    }
  });
}

for (const name of names) {
  const want = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));

  test(`${name}: IPC stream decodes to the exact values`, () => {
    const bytes = readFileSync(join(dir, `${name}.arrows`));
    const table = tableFromIPC(bytes);
    checkTable(table, want, `${name}.arrows`);
    const reader = RecordBatchReader.from(bytes);
    const batches = realBatches([...reader], want);
    assert.equal(batches.length, want.record_batches, 'one arrow batch per message');
  });

  test(`${name}: FlightData as influxdb3-js reassembles it`, () => {
    const msgs = readFlightFile(join(dir, `${name}.flight`)).map(parseFlightData);
    assert.equal(msgs.length, 1 + want.record_batches, 'schema + one FlightData per batch');
    assert.equal(msgs[0].body.length, 0, 'the schema message has no body');
    const parts = [];
    for (const m of msgs) {
      // data_header is the bare flatbuffer: no FF FF FF FF continuation prefix
      assert.notDeepEqual([...m.header.subarray(0, 4)], [0xff, 0xff, 0xff, 0xff]);
      assert.equal(m.header.length % 8, 0, 'header padded to 8');
      assert.equal(m.body.length % 8, 0, 'body padded to 8');
      const len = Buffer.alloc(4);
      len.writeInt32LE(m.header.length);
      parts.push(len, m.header, m.body);
    }
    const stream = Buffer.concat(parts);
    const batches = realBatches([...RecordBatchReader.from(stream)], want);
    assert.equal(batches.length, want.record_batches);
    // every FlightData within the budget; a single oversized row may go alone
    const sizes = readFlightFile(join(dir, `${name}.flight`)).map((m) => m.length);
    batches.forEach((b, i) => {
      const size = sizes[i + 1];
      assert.ok(size <= want.max_bytes, `FlightData ${i + 1} is ${size} bytes`);
      assert.ok(size <= want.target_bytes || b.numRows === 1,
        `FlightData ${i + 1} is ${size} bytes for ${b.numRows} rows`);
    });
    const table = batches.length ? new Table(batches) : tableFromIPC(stream);
    checkTable(table, want, `${name}.flight`);
  });
}
