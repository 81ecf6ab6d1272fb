import { request as httpRequest, Agent } from 'node:http'
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { startUpstream } from '../helpers/upstream.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { startGateway } from './helpers.js'

const MiB = 1024 * 1024
const DOWNLOAD = Number(process.env.DRAWBRIDGE_TEST_DOWNLOAD_MIB ?? 512) * MiB
const UPLOAD = 64 * MiB
const chunk = Buffer.alloc(64 * 1024, 'drawbridge ')

/** Samples RSS while `work` runs; returns the peak growth over the baseline in MB. */
async function peakRssGrowth (work: () => Promise<void>): Promise<number> {
  global.gc?.()
  const baseline = process.memoryUsage.rss()
  let peak = baseline
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, 20)
  try {
    await work()
  } finally {
    clearInterval(timer)
  }
  peak = Math.max(peak, process.memoryUsage.rss())
  return (peak - baseline) / MiB
}

interface Rss { baseline: number, peak: number }

/** VmRSS of a process, in bytes. */
function rssOf (pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kb) * 1024
}

/**
 * The gateway as its own process (`drawbridge serve`), its RSS sampled every
 * 10 ms from its start: the client and the upstream stay in this process, so
 * the dead buffers they leave for the next GC are not counted as the gateway's.
 * `reset` takes the highest reading so far (the warm-up's working set) as the
 * baseline: a GC between warm-up and reset can hand pages back, and the same
 * working set regrown would then read as growth. Buffering the download would
 * still add its size on top.
 */
async function ownProcess (t: Test, upstream: string): Promise<{ url: string, rss: (cmd: 'reset' | 'peak') => Promise<Rss> }> {
  const gw = await spawnGateway(t, ['--upstream', upstream])
  const pid = gw.proc.pid as number
  let baseline = 0
  let peak = rssOf(pid)
  const timer = setInterval(() => { peak = Math.max(peak, rssOf(pid)) }, 10)
  t.teardown(() => { clearInterval(timer) })
  return {
    url: `http://${gw.gateway}`,
    rss: async (cmd) => {
      peak = Math.max(peak, rssOf(pid))
      if (cmd === 'reset') baseline = peak
      return { baseline, peak }
    }
  }
}

t.test('a large download streams through with flat memory', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  // Generated on the fly, honouring backpressure: nothing is ever held whole.
  let size = 32 * MiB
  const upstream = await startUpstream(t, (_req, res) => {
    const total = size
    size = DOWNLOAD
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) })
    let sent = 0
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.length
        if (!res.write(chunk)) { res.once('drain', pump); return }
      }
      res.end()
    }
    pump()
  })
  const gw = await ownProcess(t, upstream.url)
  const agent = new Agent({ keepAlive: false })
  t.teardown(() => { agent.destroy() })
  const download = async (): Promise<number> => await new Promise<number>((resolve, reject) => {
    let received = 0
    httpRequest(`${gw.url}/big`, { agent }, (res) => {
      res.on('data', (c: Buffer) => { received += c.length })
      res.on('end', () => { resolve(received) })
      res.on('error', reject)
    }).on('error', reject).end()
  })
  // Warm up first (JIT, pool connection, socket buffers): the figure that matters is growth while streaming.
  await download()
  await gw.rss('reset')
  const started = Date.now()
  const received = await download()
  const seconds = (Date.now() - started) / 1000
  const { baseline, peak } = await gw.rss('peak')
  const growth = (peak - baseline) / MiB
  t.equal(received, DOWNLOAD, 'every byte arrived')
  t.comment(`download ${DOWNLOAD / MiB} MiB in ${seconds.toFixed(1)} s (${(DOWNLOAD / MiB / seconds).toFixed(0)} MiB/s); ` +
    `gateway process RSS ${(baseline / MiB).toFixed(1)} MB before, peak ${(peak / MiB).toFixed(1)} MB, growth ${growth.toFixed(1)} MB`)
  t.ok(growth < 50, `RSS grew ${growth.toFixed(1)} MB (< 50 MB)`)
})

t.test('a slow reader throttles the upstream instead of filling memory', async (t) => {
  let upstreamWritten = 0
  const upstream = await startUpstream(t, (_req, res) => {
    res.writeHead(200)
    const pump = (): void => {
      while (upstreamWritten < 256 * MiB) {
        upstreamWritten += chunk.length
        if (!res.write(chunk)) { res.once('drain', pump); return }
      }
      res.end()
    }
    pump()
  })
  const gw = await startGateway(t, upstream.url)
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest(`${gw.url}/slow`, (res) => {
      res.pause() // read nothing for a while
      setTimeout(() => { req.destroy(); resolve() }, 500)
    })
    req.on('error', () => {})
    req.end()
    setTimeout(() => { reject(new Error('no response')) }, 5000).unref()
  })
  t.ok(upstreamWritten < 32 * MiB, `upstream stopped after ${(upstreamWritten / MiB).toFixed(1)} MiB while the client read nothing`)
})

t.test('a large upload streams to the upstream', async (t) => {
  const upstream = await startUpstream(t, (req, res) => {
    let bytes = 0
    req.on('data', (c: Buffer) => { bytes += c.length })
    req.on('end', () => { res.end(JSON.stringify({ bytes, te: req.headers['transfer-encoding'] ?? null, cl: req.headers['content-length'] ?? null })) })
  })
  const gw = await startGateway(t, upstream.url)
  for (const framing of ['content-length', 'chunked'] as const) {
    let answer = ''
    const growth = await peakRssGrowth(async () => {
      await new Promise<void>((resolve, reject) => {
        const headers: Record<string, string> = framing === 'content-length' ? { 'content-length': String(UPLOAD) } : {}
        const req = httpRequest(`${gw.url}/upload`, { method: 'POST', headers, agent: false }, (res) => {
          res.on('data', (c: Buffer) => { answer += c.toString() })
          res.on('end', resolve)
        })
        req.on('error', reject)
        let sent = 0
        const pump = (): void => {
          while (sent < UPLOAD) {
            sent += chunk.length
            if (!req.write(chunk)) { req.once('drain', pump); return }
          }
          req.end()
        }
        pump()
      })
    })
    const result = JSON.parse(answer) as { bytes: number, te: string | null, cl: string | null }
    t.equal(result.bytes, UPLOAD, `${framing}: every byte arrived`)
    if (framing === 'content-length') t.equal(result.cl, String(UPLOAD), 'content-length kept')
    else t.equal(result.te, 'chunked', 'chunked upstream too')
    t.comment(`upload ${UPLOAD / MiB} MiB (${framing}): peak RSS growth ${growth.toFixed(1)} MB`)
    t.ok(growth < 50, `${framing}: RSS grew ${growth.toFixed(1)} MB`)
  }
})
