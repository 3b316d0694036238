// flightsql_client.mjs: a small Flight SQL client for the tests, built from parts nobody
// here wrote: @grpc/grpc-js with the proto files (proto/flight.proto, flight_sql.proto,
// google/protobuf/any.proto) loaded by @grpc/proto-loader, and apache-arrow to decode
// every schema and stream. No Flight SQL client package exists on npm for node, so the
// flows (GetFlightInfo -> DoGet, GetSchema) are spelled out here as the spec gives them.
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import grpc from '@grpc/grpc-js'
import protoLoader from '@grpc/proto-loader'
import {RecordBatchReader} from 'apache-arrow'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const def = protoLoader.loadSync([path.join(root, 'proto', 'flight.proto'),
  path.join(root, 'proto', 'flight_sql.proto'), 'google/protobuf/any.proto'],
{keepCase: true, longs: String, bytes: Buffer, defaults: true,
  includeDirs: [path.join(root, 'proto'), '/usr/include']})
const pkg = grpc.loadPackageDefinition(def)
export const Flight = pkg.arrow.flight.protocol
export const SQL = pkg.arrow.flight.protocol.sql
const Any = pkg.google.protobuf.Any

// Any(arrow.flight.protocol.sql.<name>{value}) as bytes.
export function packCommand(name, value = {}) {
  return Any.serialize({type_url: `type.googleapis.com/arrow.flight.protocol.sql.${name}`,
    value: SQL[name].serialize(value)})
}

export class FlightSqlClient {
  constructor(port, token, opts = {}) {
    this.fc = new Flight.FlightService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(),
      {'grpc.max_receive_message_length': 8 << 20})
    this.token = token
    this.database = opts.database
  }

  close() { this.fc.close() }

  metadata(database = this.database) {
    const md = new grpc.Metadata()
    md.set('authorization', `Bearer ${this.token}`)
    if (database) md.set('database', database)
    return md
  }

  descriptor(name, value) {
    return {type: 'CMD', cmd: packCommand(name, value)}
  }

  getFlightInfo(name, value = {}, database) {
    return new Promise((resolve, reject) => this.fc.GetFlightInfo(this.descriptor(name, value),
      this.metadata(database), (e, r) => (e ? reject(e) : resolve(r))))
  }

  getSchema(name, value = {}, database) {
    return new Promise((resolve, reject) => this.fc.GetSchema(this.descriptor(name, value),
      this.metadata(database), (e, r) => (e ? reject(e) : resolve(r))))
  }

  // Raw FlightData messages of a DoGet.
  doGetRaw(ticket, database) {
    return new Promise((resolve, reject) => {
      const msgs = []
      const call = this.fc.DoGet(ticket, this.metadata(database))
      call.on('data', (d) => msgs.push(d))
      call.on('error', reject)
      call.on('end', () => resolve(msgs))
    })
  }

  // GetFlightInfo then DoGet of its one endpoint: {info, schema, batches, rows}.
  async execute(name, value = {}, database) {
    const info = await this.getFlightInfo(name, value, database)
    if (info.endpoint.length !== 1) throw new Error(`${info.endpoint.length} endpoints`)
    const msgs = await this.doGetRaw(info.endpoint[0].ticket, database)
    const {schema, batches} = await decodeFlightData(msgs)
    const rows = []
    for (const b of batches) for (let i = 0; i < b.numRows; i++) rows.push(b.get(i))
    return {info, schema, batches, rows, msgs}
  }
}

// FlightData messages -> an IPC stream (as the InfluxDB JS client rebuilds it) -> apache-arrow.
export async function decodeFlightData(msgs) {
  const parts = []
  for (const m of msgs) {
    if (m.data_header.length === 0) throw new Error('a FlightData with an empty data_header')
    const len = Buffer.alloc(8)
    len.writeInt32LE(-1, 0)
    len.writeInt32LE(m.data_header.length, 4)
    parts.push(len, m.data_header, m.data_body)
  }
  const reader = await RecordBatchReader.from(Buffer.concat(parts))
  await reader.open()
  const schema = reader.schema
  const batches = []
  for await (const b of reader) batches.push(b)
  return {schema, batches}
}

// An IPC-encapsulated schema (FlightInfo.schema, SchemaResult.schema, table_schema).
export async function decodeSchema(bytes) {
  const eos = Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])
  const reader = await RecordBatchReader.from(Buffer.concat([Buffer.from(bytes), eos]))
  await reader.open()
  return reader.schema
}
