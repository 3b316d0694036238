// gw_server.mjs: start the real stratad for a node test (127.0.0.1:0, fresh data
// directory, --port-file), like tests/integration/gw_harness.py.
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

export async function startServer(args = [], env = {}) {
  const bin = process.env.STRATAD || path.join(root, 'build', 'bin', 'stratad')
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-node-'))
  const portFile = path.join(tmp, 'port')
  const tokenFile = path.join(tmp, 'operator-token')
  const proc = spawn(bin, ['--data-dir', path.join(tmp, 'data'), '--listen', '127.0.0.1:0',
    '--port-file', portFile, '--admin-token-file', tokenFile, '--shutdown-grace', '3s', ...args],
  {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, ...env}})
  let stderr = ''
  proc.stderr.on('data', (d) => { stderr += d })
  proc.stdout.on('data', () => {})
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve({code, sig})))
  const end = Date.now() + 30000
  while (!fs.existsSync(portFile) || fs.readFileSync(portFile, 'utf8').trim() === '') {
    if (proc.exitCode !== null) throw new Error('stratad exited: ' + stderr)
    if (Date.now() > end) throw new Error('stratad did not start: ' + stderr)
    await new Promise((r) => setTimeout(r, 20))
  }
  const port = Number(fs.readFileSync(portFile, 'utf8').trim())
  const token = fs.readFileSync(tokenFile, 'utf8').trim()
  return {
    port, token, tmp, proc,
    url: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal)
      const r = await exited
      fs.rmSync(tmp, {recursive: true, force: true})
      return r
    },
  }
}
