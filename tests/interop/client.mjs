// One real npm y-websocket client, driven by tests/tests/interop.rs.
//
// Usage: node client.mjs '<json plan>'
//   plan = { server, doc, token, name, script?: string, shot?: {id, description},
//            expectScript?: string[], expectShots?: string[], lingerMs?: number, timeoutMs? }
// It connects, waits for the initial sync, appends `script` to the "script" Y.Text and sets
// `shot` in the "shots" Y.Map, waits until every expected marker and shot is present, then
// prints one JSON line with its final state and the permission-denied reasons it received.
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { WebsocketProvider, messageAuth } from 'y-websocket'

const plan = JSON.parse(process.argv[2])
const timeoutMs = plan.timeoutMs ?? 20000
const doc = new Y.Doc()
const script = doc.getText('script')
const shots = doc.getMap('shots')
const denied = []
const closes = []

const provider = new WebsocketProvider(plan.server, plan.doc, doc, {
  WebSocketPolyfill: WebSocket,
  params: { token: plan.token },
  disableBc: true
})
// y-websocket only logs permission-denied messages; record them so the test can check them.
provider.messageHandlers[messageAuth] = (_encoder, decoder) => {
  if (decoding.readVarUint(decoder) === 0) denied.push(decoding.readVarString(decoder))
}
provider.on('connection-close', (event) => {
  if (event) closes.push({ code: event.code, reason: String(event.reason) })
})
provider.awareness.setLocalStateField('user', { name: plan.name })
// Everyone whose presence this client ever saw (peers leave again when they finish).
const seenPeers = new Set()
provider.awareness.on('change', () => {
  for (const s of provider.awareness.getStates().values()) if (s.user?.name) seenPeers.add(s.user.name)
})

const state = () => ({
  name: plan.name,
  script: script.toString(),
  shots: Object.fromEntries(
    [...shots.entries()].map(([id, shot]) => [id, shot instanceof Y.Map ? shot.toJSON() : shot])
  ),
  denied,
  closes,
  peers: [...seenPeers]
})

const finish = (code) => {
  process.stdout.write(JSON.stringify(state()) + '\n')
  provider.destroy()
  setTimeout(() => process.exit(code), 50)
}

const timer = setTimeout(() => {
  process.stderr.write(`${plan.name}: timed out\n`)
  finish(1)
}, timeoutMs)

const waitFor = (predicate) => new Promise((resolve) => {
  const check = () => {
    if (predicate()) {
      doc.off('update', check)
      clearInterval(poll)
      resolve()
    }
  }
  const poll = setInterval(check, 50)
  doc.on('update', check)
  check()
})

await new Promise((resolve) => provider.once('sync', resolve))

if (plan.script) {
  doc.transact(() => script.insert(script.length, plan.script))
}
if (plan.shot) {
  doc.transact(() => {
    const shot = new Y.Map()
    shot.set('description', plan.shot.description)
    shots.set(plan.shot.id, shot)
  })
}

await waitFor(() =>
  (plan.expectScript ?? []).every((m) => script.toString().includes(m)) &&
  (plan.expectShots ?? []).every((id) => shots.has(id))
)
if (plan.expectDenied) await waitFor(() => denied.length > 0)
if (plan.lingerMs) await new Promise((resolve) => setTimeout(resolve, plan.lingerMs))
clearTimeout(timer)
finish(0)
