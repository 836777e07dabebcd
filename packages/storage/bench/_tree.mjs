import { encode } from '@vigil/common'
import { randomBytes } from 'node:crypto'
import { planWrites } from '../dist/src/validate.js'
import { StateTree } from '../dist/src/merkle/tree.js'
import { stateKeyHash, stateValueHash } from '../dist/src/merkle/hash.js'
const N = Number(process.argv[2] ?? 150000)
const tree = new StateTree()
const cpu0 = process.cpuUsage()
let t = performance.now()
for (let i = 0; i < N; i++) { const kh = stateKeyHash('records', `x${i}`); tree.addLeaf(kh, stateValueHash(kh, Uint8Array.of(1), 1, 0)) }
tree.finishLoad()
console.log('load', N, (performance.now() - t).toFixed(0), 'ms wall', (process.cpuUsage(cpu0).user/1000).toFixed(0), 'ms cpu')
const plans = Array.from({ length: 20 }, (_, b) => planWrites(Array.from({ length: 500 }, () => ({ writes: [{ instance: 'records', key: `patient/${Math.floor(Math.random() * 1e6)}`, value: new Uint8Array(encode({ note: randomBytes(90).toString('hex') })) }] })), 5))
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
const ts = []
for (let r = 0; r < 3; r++) for (const p of plans) { const a = cpu(); tree.discard(tree.prepare(p)); ts.push(cpu() - a) }
ts.sort((a, b) => a - b)
console.log('prepare+discard median', ts[ts.length >> 1].toFixed(2), 'ms')
const results = Array.from({ length: 500 }, () => ({ writes: [{ instance: 'records', key: `patient/${Math.floor(Math.random() * 1e6)}`, value: new Uint8Array(encode({ note: randomBytes(90).toString('hex') })) }] }))
const ps = []
for (let r = 0; r < 30; r++) { const a = cpu(); planWrites(results, 5); ps.push(cpu() - a) }
ps.sort((a, b) => a - b)
console.log('planWrites median', ps[15].toFixed(2), 'ms')
