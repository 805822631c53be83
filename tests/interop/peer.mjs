// One real npm yjs + y-websocket client that a Rust test drives step by step, so that its
// edits can be interleaved with a Rust client's (going offline, editing, reconnecting).
// Driven by tests/tests/interop.rs.
//
// Usage: node peer.mjs '<json config>'   config = { server, doc, token, name, timeoutMs? }
// Then one JSON command per stdin line; each is answered with one JSON line on stdout,
// {"ok": true, ...} or {"ok": false, "error": "..."}:
//   {"cmd": "synced"}                          wait until synced with the server
//   {"cmd": "offline"}                         disconnect; later edits stay local
//   {"cmd": "online"}                          reconnect and wait until synced again
//   {"cmd": "wait", "shot", "field", "contains": [..]}
//                                              wait until the shot's field holds every string
//   {"cmd": "insert", "shot", "field", "after"?, "text"}
//                                              insert into the field's Y.Text after the first
//                                              occurrence of `after` (at the end without it)
//   {"cmd": "read", "shot", "field"}           the field's text and how it is stored
//   {"cmd": "exit"}
// Like the Rust clients, this client never converts a plain-string field into a text: only the
// server converts (see shared-model's prose.rs); an insert into a non-text field is an error.
import readline from 'node:readline'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const config = JSON.parse(process.argv[2])
const timeoutMs = config.timeoutMs ?? 20000
const doc = new Y.Doc()
const shots = doc.getMap('shots')
const provider = new WebsocketProvider(config.server, config.doc, doc, {
  WebSocketPolyfill: WebSocket,
  params: { token: config.token },
  disableBc: true
})
provider.awareness.setLocalStateField('user', { name: config.name })

const field = (shot, name) => {
  const map = shots.get(shot)
  if (!(map instanceof Y.Map)) return { kind: 'no shot', text: null, value: null }
  const value = map.get(name)
  if (value instanceof Y.Text) return { kind: 'text', text: value.toString(), value }
  if (typeof value === 'string') return { kind: 'string', text: value, value }
  return { kind: value === undefined ? 'absent' : 'other', text: null, value }
}

const waitFor = (what, predicate) => new Promise((resolve, reject) => {
  const done = (f) => {
    doc.off('update', check)
    provider.off('sync', check)
    clearInterval(poll)
    clearTimeout(timer)
    f()
  }
  const check = () => { if (predicate()) done(resolve) }
  const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${what}`))), timeoutMs)
  const poll = setInterval(check, 20)
  doc.on('update', check)
  provider.on('sync', check)
  check()
})

const handle = async (command) => {
  switch (command.cmd) {
    case 'synced':
      await waitFor('sync', () => provider.synced)
      return {}
    case 'offline':
      provider.disconnect()
      return { connected: provider.wsconnected }
    case 'online':
      provider.connect()
      await waitFor('sync after reconnecting', () => provider.synced)
      return {}
    case 'wait': {
      await waitFor(`${command.shot}.${command.field} to contain ${JSON.stringify(command.contains)}`, () => {
        const { text } = field(command.shot, command.field)
        return text !== null && command.contains.every((s) => text.includes(s))
      })
      return { text: field(command.shot, command.field).text }
    }
    case 'insert': {
      const { kind, text, value } = field(command.shot, command.field)
      if (kind !== 'text') throw new Error(`${command.shot}.${command.field} is ${kind}, not a text`)
      const found = command.after === undefined ? -1 : text.indexOf(command.after)
      if (command.after !== undefined && found < 0) throw new Error(`${JSON.stringify(command.after)} not in ${JSON.stringify(text)}`)
      // Y.Text offsets are UTF-16 units, like String.prototype.indexOf's.
      const at = found < 0 ? text.length : found + command.after.length
      value.insert(at, command.text)
      return { text: value.toString() }
    }
    case 'read': {
      const { kind, text } = field(command.shot, command.field)
      return { kind, text }
    }
    case 'exit':
      return {}
    default:
      throw new Error(`unknown command ${command.cmd}`)
  }
}

const lines = readline.createInterface({ input: process.stdin })
for await (const line of lines) {
  if (!line.trim()) continue
  let command
  let answer
  try {
    command = JSON.parse(line)
    answer = { ok: true, ...(await handle(command)) }
  } catch (e) {
    answer = { ok: false, error: String(e?.message ?? e) }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
  if (command?.cmd === 'exit') break
}
provider.destroy()
setTimeout(() => process.exit(0), 50)
