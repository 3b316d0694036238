// gw_influxdb3_tls.test.mjs: the official @influxdata/influxdb3-client over TLS against
// stratad with --tls-cert/--tls-key (a throwaway CA made with openssl): the HTTPS write
// (node's https module, no ALPN: routed to HTTPS/1.1) and the Flight query (grpc-js,
// ALPN h2: routed to gRPC) through the one port, with the private CA given to each side
// (transportOptions.ca for HTTPS, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH for grpc-js).
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {startServer} from './gw_server.mjs'

let s
let pki
let InfluxDBClient

function openssl(...args) {
  execFileSync('openssl', args, {cwd: pki, stdio: 'ignore'})
}

before(async () => {
  pki = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-node-pki-'))
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-days', '2', '-subj', '/CN=strata-node-test-ca')
  fs.writeFileSync(path.join(pki, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr',
    '-subj', '/CN=localhost')
  openssl('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-CAcreateserial', '-out', 'srv.pem', '-days', '2', '-extfile', 'ext.cnf')
  // grpc-js reads its default roots from this variable when it first needs them.
  process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = path.join(pki, 'ca.pem')
  ;({InfluxDBClient} = await import('@influxdata/influxdb3-client'))
  s = await startServer(['--tls-cert', path.join(pki, 'srv.pem'), '--tls-key',
    path.join(pki, 'srv.key')])
})

after(async () => {
  const r = await s.stop()
  fs.rmSync(pki, {recursive: true, force: true})
  assert.equal(r.code, 0, s.stderr())
})

test('write over HTTPS and query over gRPC/TLS on one port', async () => {
  const client = new InfluxDBClient({
    host: `https://localhost:${s.port}`,
    token: s.token,
    database: 'tlsdb',
    transportOptions: {ca: fs.readFileSync(path.join(pki, 'ca.pem'))},
  })
  assert.match(await client.getServerVersion(), /^\d/)
  await client.write('tls,host=a v=1i 1700000000000000000\ntls,host=b v=2i 1700000001000000000')
  const rows = []
  for await (const r of client.query('SELECT host, v FROM tls ORDER BY time')) rows.push(r)
  assert.deepEqual(rows.map((r) => [r.host, r.v]), [['a', 1], ['b', 2]])
  await client.close()
})

test('a client that does not trust the CA is refused', async () => {
  const client = new InfluxDBClient({host: `https://localhost:${s.port}`, token: s.token,
    database: 'tlsdb'})
  await assert.rejects(client.write('tls v=1i 1'))
  await client.close()
})
