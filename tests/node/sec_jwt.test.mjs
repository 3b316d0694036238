// sec_jwt.test.mjs: the JWT half of the attack catalogue (research/security-anchors.md
// s. 2.1) through the running stratad. Tokens are minted here, with `jose` and with
// node's OpenSSL (crypto.sign) for the encodings jose will not produce, against keys of an
// identity provider this test runs itself: an HTTPS server with a test CA (made with the
// openssl CLI) serving /.well-known/openid-configuration and the JWKS, which stratad finds
// by discovery (--oidc-issuer https://127.0.0.1:PORT, --oidc-ca-file). A second server
// reads a hostile JWKS from --oidc-jwks-file. Every must-reject token must get the one
// generic 401 (HTTP) / UNAUTHENTICATED (gRPC); the must-accept ones 204; key-set hygiene
// (refetch on unknown kid, rate-limited; rotation; last good set kept on fetch errors; the
// pinned CA; no fetch from a token's jku) is checked by counting the requests the provider
// sees; and no minted token appears in stratad's log or audit log.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import grpc from '@grpc/grpc-js'
import protoLoader from '@grpc/proto-loader'
import * as jose from 'jose'
import {startServer} from './gw_server.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const cli = process.env.STRATA_CLI || path.join(root, 'build', 'bin', 'strata')
const AUD = 'strata'
const DB = 'jwtdb'
const NOT_AUTH = {error: 'the request was not authenticated'}

// ---- keys, certificates, the identity provider ---------------------------------------------

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sec-jwt-'))
const rsa = crypto.generateKeyPairSync('rsa', {modulusLength: 2048})
const rsa2 = crypto.generateKeyPairSync('rsa', {modulusLength: 2048}) // rotation
const ec = crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'})
const attacker = crypto.generateKeyPairSync('rsa', {modulusLength: 2048})
const attackerEc = crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'})
const weak = crypto.generateKeyPairSync('rsa', {modulusLength: 1024})

function jwk (pub, kid, extra = {}) {
  return {...pub.export({format: 'jwk'}), kid, use: 'sig', ...extra}
}

function openssl (...args) {
  execFileSync('openssl', args, {cwd: tmp, stdio: 'ignore'})
}

function makeCa (name) {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
    '-keyout', `${name}.key`, '-out', `${name}.pem`)
}

function makeCert (ca, name) {
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout',
    `${name}.key`, '-out', `${name}.csr`)
  fs.writeFileSync(path.join(tmp, `${name}.ext`), 'subjectAltName=IP:127.0.0.1\n')
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`,
    '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`)
  return {key: fs.readFileSync(path.join(tmp, `${name}.key`)),
    cert: fs.readFileSync(path.join(tmp, `${name}.pem`))}
}

// The provider: counts requests per path; its JWKS and failure mode can be changed.
function startIdp (tls) {
  const idp = {hits: {}, jwks: null, fail: 0, big: false}
  idp.server = https.createServer(tls, (req, res) => {
    idp.hits[req.url] = (idp.hits[req.url] || 0) + 1
    if (idp.fail) {
      res.writeHead(idp.fail)
      res.end('down')
      return
    }
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, {'content-type': 'application/json'})
      res.end(JSON.stringify({issuer: idp.issuer, jwks_uri: `${idp.issuer}/jwks.json`}))
    } else if (req.url === '/jwks.json') {
      res.writeHead(200, {'content-type': 'application/json'})
      res.end(idp.big ? JSON.stringify({keys: [], pad: 'x'.repeat(300 * 1024)})
        : JSON.stringify(idp.jwks))
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  return new Promise((resolve) => idp.server.listen(0, '127.0.0.1', () => {
    idp.issuer = `https://127.0.0.1:${idp.server.address().port}`
    resolve(idp)
  }))
}

// ---- token helpers ---------------------------------------------------------------------------

const b64u = (x) => Buffer.from(x).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)
let idp, s, other, badCa

function claims (extra = {}) {
  return {iss: idp.issuer, aud: AUD, sub: 'alice', iat: now() - 5, exp: now() + 600,
    groups: ['eng'], ...extra}
}

// Sign header and payload texts (raw strings: duplicates and malformed JSON allowed).
function rawSign (headerText, payloadText, key = rsa.privateKey, alg = 'RS256') {
  const si = `${b64u(headerText)}.${b64u(payloadText)}`
  let sig
  if (alg === 'RS256') sig = crypto.sign('sha256', Buffer.from(si), key)
  else if (alg === 'ES256') sig = crypto.sign('sha256', Buffer.from(si), {key, dsaEncoding: 'ieee-p1363'})
  else if (alg === 'HS256') sig = crypto.createHmac('sha256', key).update(si).digest()
  else sig = Buffer.alloc(0)
  return `${si}.${b64u(sig)}`
}

async function signJwt (payload, header = {alg: 'RS256', kid: 'rsa1'}, key = rsa.privateKey) {
  return new jose.SignJWT(payload).setProtectedHeader(header).sign(key)
}

// A write with `Bearer <token>`. Tokens with bytes fetch() refuses to put in a header (CR,
// LF) go out on a raw socket, so the server sees exactly what an attacker would send.
async function write (token, db = DB) {
  if (/[^\x21-\x7e]/.test(token)) return rawWrite(token, db)
  try {
    const r = await fetch(`${s.url}/api/v3/write_lp?db=${db}`, {method: 'POST',
      body: 'jwt_m v=1i 1', headers: {Authorization: `Bearer ${token}`}})
    return {status: r.status, body: await r.text()}
  } catch (e) {
    return {status: 0, body: String(e.cause || e)} // the server closed the connection
  }
}

function rawWrite (token, db) {
  return new Promise((resolve) => {
    const sock = net.connect(s.port, '127.0.0.1')
    let data = ''
    sock.on('data', (d) => { data += d })
    sock.on('error', () => resolve({status: 0, body: 'reset'}))
    sock.on('close', () => {
      const m = /^HTTP\/1\.1 (\d+)/.exec(data)
      resolve({status: m ? Number(m[1]) : 0, body: data.split('\r\n\r\n').slice(1).join('')})
    })
    const body = 'jwt_m v=1i 1'
    sock.end(`POST /api/v3/write_lp?db=${db} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n` +
      `Authorization: Bearer ${token}\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
  })
}

const minted = []
function keep (t) {
  minted.push(t)
  return t
}

// ---- setup -----------------------------------------------------------------------------------

before(async () => {
  makeCa('ca')
  makeCa('otherca')
  const tls = makeCert('ca', 'idp')
  idp = await startIdp(tls)
  badCa = await startIdp(makeCert('otherca', 'evil'))
  idp.jwks = {keys: [jwk(rsa.publicKey, 'rsa1', {alg: 'RS256'}), jwk(ec.publicKey, 'ec1', {alg: 'ES256'})]}
  s = await startServer(['--oidc-issuer', idp.issuer, '--oidc-audience', AUD,
    '--oidc-ca-file', path.join(tmp, 'ca.pem'), '--oidc-groups-claim', 'groups',
    '--oidc-jwks-min-interval', '1s', '--oidc-fetch-timeout', '3s', '--auth-fail-limit', '0',
    '--log-level', 'debug'])
  const op = path.join(s.tmp, 'operator-token')
  const run = (...a) => execFileSync(cli, ['--host', s.url, '--token-file', op, ...a],
    {stdio: ['ignore', 'pipe', 'pipe']})
  run('database', 'create', DB)
  run('role', 'grant', 'write', '--database', DB, '--group', 'eng')
  run('role', 'grant', 'read', '--database', DB, '--user', 'alice')
})

after(async () => {
  for (const srv of [s, other].filter(Boolean)) {
    const err = srv.stderr()
    const r = await srv.stop()
    assert.equal(r.code, 0, `stratad exited ${r.code} ${r.sig}: ${err.slice(-2000)}`)
    assert.doesNotMatch(err, /AddressSanitizer|LeakSanitizer|runtime error:|level=alert/)
  }
  idp.server.close()
  badCa.server.close()
  fs.rmSync(tmp, {recursive: true, force: true})
})

// ---- accepted tokens ------------------------------------------------------------------------

test('discovered keys: RS256 and ES256 tokens write through their group grant', async () => {
  assert.ok(idp.hits['/.well-known/openid-configuration'] >= 1)
  assert.ok(idp.hits['/jwks.json'] >= 1)
  let r = await write(keep(await signJwt(claims())))
  assert.equal(r.status, 204, r.body)
  r = await write(keep(await signJwt(claims(), {alg: 'ES256', kid: 'ec1'}, ec.privateKey)))
  assert.equal(r.status, 204, r.body)
  // without the group the user holds only read
  r = await write(keep(await signJwt(claims({groups: []}))))
  assert.equal(r.status, 403)
  // another user, no grants at all: the same 403 for a database that does not exist
  r = await write(keep(await signJwt(claims({sub: 'mallory', groups: []}))))
  assert.equal(r.status, 403)
  r = await write(keep(await signJwt(claims({sub: 'mallory', groups: []}))), 'nosuchdb')
  assert.equal(r.status, 403)
})

test('must-accept edge cases: aud array with ours, skew within the leeway, ignored jku/x5u', async () => {
  const ok = {
    'aud array containing ours': claims({aud: ['other', AUD]}),
    'expired 30 s ago (leeway 60 s)': claims({iat: now() - 300, exp: now() - 30}),
    'nbf 30 s ahead': claims({nbf: now() + 30}),
    'iat 30 s ahead': claims({iat: now() + 30}),
  }
  for (const [name, c] of Object.entries(ok)) {
    const r = await write(keep(await signJwt(c)))
    assert.equal(r.status, 204, `${name}: ${r.body}`)
  }
  // a trusted signature with jku / x5u headers: accepted, and nothing is fetched from them
  for (const h of ['jku', 'x5u']) {
    const t = keep(await signJwt(claims(), {alg: 'RS256', kid: 'rsa1', [h]: `${idp.issuer}/evil-${h}`}))
    assert.equal((await write(t)).status, 204, h)
    assert.equal(idp.hits[`/evil-${h}`], undefined, `${h} must never be fetched`)
  }
})

// ---- the must-reject catalogue ---------------------------------------------------------------

async function catalogue () {
  const c = claims()
  const cs = JSON.stringify(c)
  const good = await signJwt(c)
  const [gh, gp, gs] = good.split('.')
  const hdr = (o) => JSON.stringify(o)
  const rsaPem = rsa.publicKey.export({type: 'spki', format: 'pem'})
  const rsaPkcs1 = rsa.publicKey.export({type: 'pkcs1', format: 'pem'})
  const rsaDer = rsa.publicKey.export({type: 'spki', format: 'der'})
  const rsaJwk = JSON.stringify(rsa.publicKey.export({format: 'jwk'}))
  const rsaN = Buffer.from(rsa.publicKey.export({format: 'jwk'}).n, 'base64url')
  const ecPem = ec.publicKey.export({type: 'spki', format: 'pem'})
  const T = {}
  // alg none, in every spelling, with an empty and with a kept signature
  for (const a of ['none', 'None', 'NONE', 'nOnE']) {
    T[`alg ${a}, no signature`] = `${b64u(hdr({alg: a}))}.${gp}.`
    T[`alg ${a}, kept signature`] = `${b64u(hdr({alg: a, kid: 'rsa1'}))}.${gp}.${gs}`
  }
  // HMAC with the public key material as the secret (algorithm confusion)
  for (const [n, k] of [['SPKI PEM', rsaPem], ['PKCS#1 PEM', rsaPkcs1], ['DER', rsaDer],
    ['JWK JSON', rsaJwk], ['modulus bytes', rsaN], ['EC PEM', ecPem]]) {
    T[`HS256 keyed with the RSA/EC ${n}`] = rawSign(hdr({alg: 'HS256', kid: 'rsa1'}), cs, k, 'HS256')
  }
  T['HS512 keyed with the SPKI PEM'] = await new jose.SignJWT(c)
    .setProtectedHeader({alg: 'HS512', kid: 'rsa1'}).sign(Buffer.from(rsaPem))
  // algorithms outside the allow-list or the key's pin, validly signed
  T['PS256 with the RS256-pinned key'] = await signJwt(c, {alg: 'PS256', kid: 'rsa1'})
  T['RS512 with the RS256-pinned key'] = await signJwt(c, {alg: 'RS512', kid: 'rsa1'})
  T['alg rs256 (case)'] = rawSign(hdr({alg: 'rs256', kid: 'rsa1'}), cs)
  T['alg missing'] = rawSign(hdr({kid: 'rsa1'}), cs)
  T['alg empty'] = rawSign(hdr({alg: '', kid: 'rsa1'}), cs)
  T['alg array'] = rawSign(hdr({alg: ['RS256'], kid: 'rsa1'}), cs)
  T['ES256 header on the RSA key'] = rawSign(hdr({alg: 'ES256', kid: 'rsa1'}), cs)
  // kid: only a lookup key
  for (const [n, k] of [['unknown', 'nope'], ['path traversal', '../../dev/null'],
    ['SQL', "x' UNION SELECT 'secret"], ['shell', '$(id);`id`'], ['URL', 'https://evil/k'],
    ['NUL suffix', 'rsa1\u0000'], ['number', 1], ['object', {a: 1}], ['4000 chars', 'k'.repeat(4000)],
    ['homoglyph', 'rѕa1']]) {
    T[`kid ${n}`] = rawSign(hdr({alg: 'RS256', kid: k}), cs)
  }
  // embedded keys: an attacker's key, named by header or with the trusted kid
  const aj = JSON.stringify(attacker.publicKey.export({format: 'jwk'}))
  T['jwk header with the attacker key'] = rawSign(`{"alg":"RS256","jwk":${aj}}`, cs, attacker.privateKey)
  T['jwk header + trusted kid, attacker-signed'] = rawSign(`{"alg":"RS256","kid":"rsa1","jwk":${aj}}`, cs, attacker.privateKey)
  T['jku to the metadata address, attacker-signed'] = rawSign(hdr({alg: 'RS256', kid: 'rsa1',
    jku: 'http://169.254.169.254/latest'}), cs, attacker.privateKey)
  T['x5c header, attacker-signed'] = rawSign(hdr({alg: 'RS256', kid: 'rsa1', x5c: ['MIIB']}), cs, attacker.privateKey)
  T['ES256 by the attacker with the trusted kid'] = rawSign(hdr({alg: 'ES256', kid: 'ec1'}), cs, attackerEc.privateKey, 'ES256')
  // time claims
  const t = now()
  const bad = {
    'expired 2 min ago': {exp: t - 120},
    'exp beyond the leeway by a second': {exp: t - 61},
    'nbf 2 min ahead': {nbf: t + 120},
    'iat a day ahead': {iat: t + 86400},
    'iat 2 min ahead': {iat: t + 120},
    'exp string': {exp: String(t + 600)},
    'exp null': {exp: null},
    'exp true': {exp: true},
    'exp negative': {exp: -1},
    'nbf string': {nbf: String(t)},
    'iat null': {iat: null},
    'iat negative': {iat: -5},
    'lifetime 25 h': {iat: t - 5, exp: t + 25 * 3600},
    'iss wrong': {iss: 'https://evil.test'},
    'iss trailing slash': {iss: idp.issuer + '/'},
    'iss upper case': {iss: idp.issuer.toUpperCase()},
    'iss prefix': {iss: idp.issuer.slice(0, -1)},
    'iss array': {iss: [idp.issuer]},
    'iss null': {iss: null},
    'aud wrong': {aud: 'other'},
    'aud array without ours': {aud: ['a', 'b']},
    'aud []': {aud: []},
    'aud ""': {aud: ''},
    'aud prefix': {aud: 'strat'},
    'aud superstring': {aud: 'strata2'},
    'aud space-joined': {aud: 'other strata'},
    'aud nested array': {aud: [[AUD]]},
    'aud number': {aud: 1},
    'aud null': {aud: null},
    'sub ""': {sub: ''},
    'sub number': {sub: 7},
    'sub with NUL': {sub: 'admin\u0000x'},
    'groups not an array': {groups: 'eng'},
    'groups with a number': {groups: ['eng', 3]},
  }
  for (const [n, v] of Object.entries(bad)) T[n] = await signJwt({...c, ...v})
  for (const k of ['exp', 'iat', 'iss', 'aud', 'sub']) {
    const x = {...c}
    delete x[k]
    T[`${k} missing`] = await signJwt(x)
  }
  T['exp 1e400'] = rawSign(hdr({alg: 'RS256', kid: 'rsa1'}), cs.replace(/"exp":\d+/, '"exp":1e400'))
  T['exp 2^63'] = rawSign(hdr({alg: 'RS256', kid: 'rsa1'}), cs.replace(/"exp":\d+/, '"exp":9223372036854775808'))
  // crit, b64, cty, header shape
  T['crit unknown'] = rawSign(hdr({alg: 'RS256', kid: 'rsa1', crit: ['x'], x: 1}), cs)
  T['crit []'] = rawSign(hdr({alg: 'RS256', kid: 'rsa1', crit: []}), cs)
  T['crit lists alg'] = rawSign(hdr({alg: 'RS256', kid: 'rsa1', crit: ['alg']}), cs)
  T['crit not an array'] = rawSign(hdr({alg: 'RS256', kid: 'rsa1', crit: 'exp'}), cs)
  T['b64 false'] = rawSign(hdr({alg: 'RS256', kid: 'rsa1', b64: false, crit: ['b64']}), cs)
  T['cty JWT (nested)'] = rawSign(hdr({alg: 'RS256', kid: 'rsa1', cty: 'JWT'}), cs)
  T['header not an object'] = rawSign('["RS256"]', cs)
  T['header not JSON'] = rawSign('alg=RS256', cs)
  // encodings
  const std = (x) => Buffer.from(x).toString('base64')
  T['standard base64 alphabet with padding'] = `${std(hdr({alg: 'RS256', kid: 'rsa1'}))}.${std(cs)}.${Buffer.from(gs, 'base64url').toString('base64')}`
  T['padding on the signature'] = `${gh}.${gp}.${gs}==`
  T['! in the payload'] = `${gh}.${gp}!.${gs}`
  T['newline inside'] = `${gh}.${gp}\n.${gs}`
  T['A=AA header'] = `A=AA.${gp}.${gs}`
  T['AAAAA=== signature'] = `${gh}.${gp}.AAAAA===`
  const last = gs.slice(-1)
  const flipBits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  T['non-zero trailing bits'] = `${gh}.${gp}.${gs.slice(0, -1)}${flipBits[(flipBits.indexOf(last) + 1) % 64]}`
  // structure
  T['two segments'] = `${gh}.${gp}`
  T['four segments'] = `${gh}.${gp}.${gs}.${gs}`
  T['five segments (JWE)'] = `${gh}.${gp}.${gs}.${gs}.${gs}`
  T['".."'] = '..'
  T['two tokens concatenated'] = `${good}${good}`
  T['flattened JSON serialisation'] = b64u(JSON.stringify({protected: gh, payload: gp, signature: gs}))
  // signatures
  T['signature stripped'] = `${gh}.${gp}.`
  T['signature truncated'] = `${gh}.${gp}.${gs.slice(0, -4)}`
  const flip = Buffer.from(gs, 'base64url')
  flip[10] ^= 1
  T['signature bit flipped'] = `${gh}.${gp}.${b64u(flip)}`
  const other2 = (await signJwt({...c, sub: 'bob'})).split('.')[2]
  T['signature from another token'] = `${gh}.${gp}.${other2}`
  T['payload edited after signing'] = `${gh}.${b64u(cs.replace('alice', 'admin'))}.${gs}`
  T['header edited after signing'] = `${b64u(hdr({alg: 'RS256', kid: 'rsa1', typ: 'X'}))}.${gp}.${gs}`
  const raw = Buffer.from(gs, 'base64url')
  T['RSA signature 255 bytes'] = `${gh}.${gp}.${b64u(raw.subarray(1))}`
  T['RSA signature 257 bytes'] = `${gh}.${gp}.${b64u(Buffer.concat([Buffer.alloc(1), raw]))}`
  // duplicate members (two parsers must never disagree)
  const H = '"kid":"rsa1"'
  const dupPayload = (extra) => cs.slice(0, -1) + ',' + extra + '}'
  T['duplicate sub'] = rawSign(`{"alg":"RS256",${H}}`, dupPayload('"sub":"admin"'))
  T['duplicate exp (expired then valid)'] = rawSign(`{"alg":"RS256",${H}}`, `{"exp":${t - 9999},` + cs.slice(1))
  T['duplicate aud'] = rawSign(`{"alg":"RS256",${H}}`, dupPayload('"aud":"other"'))
  T['duplicate groups (read then owner)'] = rawSign(`{"alg":"RS256",${H}}`, dupPayload('"groups":["owners"]'))
  T['duplicate header alg (none then RS256)'] = rawSign(`{"alg":"none","alg":"RS256",${H}}`, cs)
  T['duplicate header kid'] = rawSign(`{"alg":"RS256",${H},"kid":"ec1"}`, cs)
  // payloads that are not one clean JSON object
  const pl = {
    'payload not JSON': 'not json',
    'payload array': '[1]',
    'payload string': '"x"',
    'payload null': 'null',
    'payload empty': '',
    'payload trailing garbage': cs + 'x',
    'payload two objects': cs + cs,
    'payload with a BOM': '\ufeff' + cs,
    'payload single quotes': cs.replace(/"/g, "'"),
    'payload with a comment': cs.replace('{', '{/*c*/'),
    'payload nested 2500 deep': `{"x":${'['.repeat(2500)}${']'.repeat(2500)},` + cs.slice(1),
  }
  for (const [n, p] of Object.entries(pl)) T[n] = rawSign(hdr({alg: 'RS256', kid: 'rsa1'}), p)
  const badUtf8 = Buffer.concat([Buffer.from(cs.slice(0, -1) + ',"n":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])
  T['payload invalid UTF-8'] = `${b64u(hdr({alg: 'RS256', kid: 'rsa1'}))}.${b64u(badUtf8)}.` +
    b64u(crypto.sign('sha256', Buffer.from(`${b64u(hdr({alg: 'RS256', kid: 'rsa1'}))}.${b64u(badUtf8)}`), rsa.privateKey))
  T['payload lone surrogate'] = rawSign(hdr({alg: 'RS256', kid: 'rsa1'}), cs.slice(0, -1) + ',"n":"\\ud800"}')
  // sizes: over the 8 KiB cap, validly signed
  for (const [n, k] of [['9 KiB', 9 * 1024], ['64 KiB', 64 * 1024]]) {
    T[`${n} validly signed`] = await signJwt({...c, pad: 'p'.repeat(k)})
  }
  // ES256 signature shapes
  const es = await signJwt(c, {alg: 'ES256', kid: 'ec1'}, ec.privateKey)
  const [eh, ep, esig] = es.split('.')
  const sig = Buffer.from(esig, 'base64url')
  const n256 = Buffer.from('FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551', 'hex')
  T['ES256 r = s = 0 (psychic signature)'] = `${eh}.${ep}.${b64u(Buffer.alloc(64))}`
  T['ES256 r = s = n'] = `${eh}.${ep}.${b64u(Buffer.concat([n256, n256]))}`
  T['ES256 r = 0'] = `${eh}.${ep}.${b64u(Buffer.concat([Buffer.alloc(32), sig.subarray(32)]))}`
  T['ES256 DER-encoded'] = `${eh}.${ep}.${b64u(crypto.sign('sha256', Buffer.from(`${eh}.${ep}`), ec.privateKey))}`
  T['ES256 63 bytes'] = `${eh}.${ep}.${b64u(sig.subarray(1))}`
  T['ES256 65 bytes'] = `${eh}.${ep}.${b64u(Buffer.concat([Buffer.alloc(1), sig]))}`
  T['ES256 65 bytes, trailing junk'] = `${eh}.${ep}.${b64u(Buffer.concat([sig, Buffer.from([7])]))}`
  // clock skew beyond the leeway
  T['exp 2 min ago'] = await signJwt({...c, exp: t - 120})
  T['nbf +2 min'] = await signJwt({...c, nbf: t + 120})
  return T
}

test('every must-reject token of the catalogue: the one generic 401', async () => {
  const T = await catalogue()
  const wrong = []
  for (const [name, tok] of Object.entries(T)) {
    keep(tok)
    const r = await write(tok)
    const generic = r.status === 401 &&
      r.body.replace(/\s/g, '') === JSON.stringify(NOT_AUTH).replace(/\s/g, '')
    // a header no credential can carry may be refused as malformed (400); one larger than
    // --max-header-size by the HTTP layer (431, or the connection closed)
    const malformed = r.status === 400 && /malformed/.test(r.body)
    const tooBig = /KiB/.test(name) && (r.status === 431 || r.status === 413 || r.status === 0)
    if (!generic && !malformed && !tooBig) wrong.push(`${name}: ${r.status} ${r.body}`)
  }
  assert.ok(Object.keys(T).length > 130, `only ${Object.keys(T).length} cases`)
  assert.deepEqual(wrong, [])
  // and the server is still serving
  assert.equal((await write(keep(await signJwt(claims())))).status, 204)
})

test('gRPC: a JWT on DoGet; bad ones are UNAUTHENTICATED with the generic message', async () => {
  const def = protoLoader.loadSync(path.join(root, 'proto', 'flight.proto'),
    {keepCase: true, longs: String, bytes: Buffer, defaults: true})
  const flight = grpc.loadPackageDefinition(def).arrow.flight.protocol
  const fc = new flight.FlightService(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure())
  const doGet = (token) => new Promise((resolve) => {
    const md = new grpc.Metadata()
    md.set('authorization', `Bearer ${token}`)
    const call = fc.DoGet({ticket: Buffer.from(JSON.stringify({database: DB,
      sql_query: 'SELECT * FROM jwt_m', query_type: 'sql'}))}, md)
    let n = 0
    call.on('data', () => { n++ })
    call.on('error', (e) => resolve({code: e.code, details: e.details}))
    call.on('end', () => resolve({code: 0, n}))
  })
  let r = await doGet(keep(await signJwt(claims())))
  assert.equal(r.code, 0)
  for (const tok of [await signJwt(claims({exp: now() - 3600})),
    rawSign('{"alg":"none"}', JSON.stringify(claims()), null, 'none'),
    await signJwt(claims(), {alg: 'RS256', kid: 'rsa1'}, attacker.privateKey)]) {
    r = await doGet(keep(tok))
    assert.equal(r.code, grpc.status.UNAUTHENTICATED)
    assert.equal(r.details, 'the request was not authenticated')
  }
  fc.close()
})

// ---- key-set hygiene ---------------------------------------------------------------------------

test('unknown kid: one refetch per interval; a rotated key is picked up; fetch errors keep the last good set', async () => {
  await new Promise((r) => setTimeout(r, 1100)) // past the min interval
  const before = idp.hits['/jwks.json']
  // a flood of unknown kids makes at most one fetch per --oidc-jwks-min-interval (1 s)
  for (let i = 0; i < 20; i++) {
    const r = await write(keep(rawSign(JSON.stringify({alg: 'RS256', kid: `flood${i}`}), JSON.stringify(claims()))))
    assert.equal(r.status, 401)
  }
  await new Promise((r) => setTimeout(r, 300))
  const flood = idp.hits['/jwks.json'] - before
  assert.ok(flood >= 1 && flood <= 2, `fetches during the flood: ${flood}`)
  // rotation: the provider adds rsa2; a token naming it triggers the refetch
  await new Promise((r) => setTimeout(r, 1100))
  idp.jwks.keys.push(jwk(rsa2.publicKey, 'rsa2', {alg: 'RS256'}))
  const rotated = keep(await signJwt(claims(), {alg: 'RS256', kid: 'rsa2'}, rsa2.privateKey))
  assert.equal((await write(rotated)).status, 401) // this one triggers the fetch
  let ok = false
  for (let i = 0; i < 50 && !ok; i++) {
    await new Promise((r) => setTimeout(r, 100))
    ok = (await write(rotated)).status === 204
  }
  assert.ok(ok, 'the rotated key was not picked up')
  // the provider fails: the last good set stays in use
  await new Promise((r) => setTimeout(r, 1100))
  idp.fail = 500
  assert.equal((await write(keep(rawSign(JSON.stringify({alg: 'RS256', kid: 'gone'}), JSON.stringify(claims()))))).status, 401)
  await new Promise((r) => setTimeout(r, 500))
  assert.equal((await write(rotated)).status, 204)
  assert.equal((await write(keep(await signJwt(claims())))).status, 204)
  // an oversized JWKS is refused the same way
  idp.fail = 0
  idp.big = true
  await new Promise((r) => setTimeout(r, 1100))
  await write(keep(rawSign(JSON.stringify({alg: 'RS256', kid: 'gone2'}), JSON.stringify(claims()))))
  await new Promise((r) => setTimeout(r, 500))
  assert.equal((await write(rotated)).status, 204)
  idp.big = false
  const m = await (await fetch(`${s.url}/metrics`, {headers: {Authorization: `Bearer ${s.token}`}})).text()
  assert.match(m, /strata_oidc_key_fetches_total\{outcome="error"\} [1-9]/)
  assert.match(m, /strata_oidc_refetch_throttled_total [1-9]/)
})

test('pinned CA: discovery from a server with another CA gets no keys', async () => {
  const t = await startServer(['--oidc-issuer', badCa.issuer, '--oidc-audience', AUD,
    '--oidc-ca-file', path.join(tmp, 'ca.pem'), '--auth-fail-limit', '0'])
  try {
    assert.match(t.stderr(), /OIDC discovery/)
    const r = await fetch(`${t.url}/api/v3/write_lp?db=x`, {method: 'POST', body: 'm v=1',
      headers: {Authorization: `Bearer ${keep(await signJwt({...claims(), iss: badCa.issuer}))}`}})
    assert.equal(r.status, 401)
    // the TLS handshake failed: no request ever reached the impostor's handlers
    assert.equal(badCa.hits['/jwks.json'], undefined)
  } finally {
    await t.stop()
  }
})

test('hostile JWKS file: weak, e=1, symmetric, off-curve and encryption keys are skipped', async () => {
  const weakJwk = jwk(weak.publicKey, 'weak', {alg: 'RS256'})
  const e1 = {...jwk(attacker.publicKey, 'e1', {alg: 'RS256'}), e: b64u(Buffer.from([1]))}
  const oct = {kty: 'oct', kid: 'oct', k: b64u('secret-secret-secret-secret-1234'), alg: 'HS256'}
  const offCurve = {...jwk(ec.publicKey, 'off', {alg: 'ES256'})}
  const y = Buffer.from(offCurve.y, 'base64url')
  y[31] ^= 1
  offCurve.y = b64u(y)
  const enc = jwk(rsa2.publicKey, 'enc', {alg: 'RS256', use: 'enc'})
  const file = path.join(tmp, 'hostile.json')
  fs.writeFileSync(file, JSON.stringify({keys: [jwk(rsa.publicKey, 'rsa1', {alg: 'RS256'}),
    weakJwk, e1, oct, offCurve, enc]}))
  other = await startServer(['--oidc-issuer', 'https://idp.example', '--oidc-audience', AUD,
    '--oidc-jwks-file', file, '--auth-fail-limit', '0'])
  const op = path.join(other.tmp, 'operator-token')
  execFileSync(cli, ['--host', other.url, '--token-file', op, 'database', 'create', 'h'])
  execFileSync(cli, ['--host', other.url, '--token-file', op, 'role', 'grant', 'write',
    '--database', 'h', '--user', 'alice'])
  const c = {...claims(), iss: 'https://idp.example', groups: undefined}
  const w = async (tok) => (await fetch(`${other.url}/api/v3/write_lp?db=h`, {method: 'POST',
    body: 'm v=1i 1', headers: {Authorization: `Bearer ${keep(tok)}`}})).status
  assert.equal(await w(await signJwt(c)), 204) // the good key still works
  assert.equal(await w(rawSign(JSON.stringify({alg: 'RS256', kid: 'weak'}), JSON.stringify(c),
    weak.privateKey)), 401)
  assert.equal(await w(rawSign(JSON.stringify({alg: 'HS256', kid: 'oct'}), JSON.stringify(c),
    Buffer.from('secret-secret-secret-secret-1234'), 'HS256')), 401)
  assert.equal(await w(await signJwt(c, {alg: 'ES256', kid: 'off'}, ec.privateKey)), 401)
  assert.equal(await w(await signJwt(c, {alg: 'RS256', kid: 'enc'}, rsa2.privateKey)), 401)
  // e = 1: with that exponent the "signature" is the padded digest itself, no key needed
  const si = `${b64u(JSON.stringify({alg: 'RS256', kid: 'e1'}))}.${b64u(JSON.stringify(c))}`
  const digest = crypto.createHash('sha256').update(si).digest()
  const prefix = Buffer.from('3031300d060960864801650304020105000420', 'hex')
  const t = Buffer.concat([prefix, digest])
  const em = Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(256 - t.length - 3, 0xff), Buffer.from([0]), t])
  assert.equal(await w(`${si}.${b64u(em)}`), 401)
  assert.match(other.stderr(), /key \d of the key set skipped/)
})

test('no minted token appears in the server log or the audit log', async () => {
  const auditDir = path.join(s.tmp, 'data', 'audit')
  const audit = fs.readdirSync(auditDir).map((f) => fs.readFileSync(path.join(auditDir, f), 'utf8')).join('')
  const metrics = await (await fetch(`${s.url}/metrics`, {headers: {Authorization: `Bearer ${s.token}`}})).text()
  const logs = s.stderr() + (other ? other.stderr() : '')
  assert.ok(audit.includes('"category":"authn"'))
  for (const tok of minted) {
    for (const part of tok.split('.').filter((p) => p.length >= 16)) {
      const frag = part.slice(0, 24)
      assert.ok(!audit.includes(frag), 'a token fragment in the audit log')
      assert.ok(!logs.includes(frag), 'a token fragment in the server log')
      assert.ok(!metrics.includes(frag), 'a token fragment in /metrics')
    }
  }
  assert.ok(!audit.includes(s.token) && !logs.includes(s.token))
})
