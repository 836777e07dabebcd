import { LedgerStore } from '../dist/src/index.js'
const mem = (w) => console.log(w, 'rss', (process.memoryUsage().rss/2**20).toFixed(0), 'peak', (process.resourceUsage().maxRSS/1024).toFixed(0), 'ext', (process.memoryUsage().external/2**20).toFixed(0), 'ab', (process.memoryUsage().arrayBuffers/2**20).toFixed(0))
mem('start')
const s = await LedgerStore.open(process.argv[2], { snapshotMinKeys: Infinity })
mem('opened')
console.log(s.treeLoad())
