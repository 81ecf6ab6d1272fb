// The floor for a maintenance answer: a bare Fastify route sending a fixed buffer
// of the same bytes as Drawbridge's page, with the same status and headers.
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'

const page = readFileSync(process.argv[2])
const json = Buffer.from(JSON.stringify({ error: 'maintenance', message: 'Back soon', retryAfter: 300, endsAt: null }))
const app = Fastify({ logger: false })
// Same negotiation as the gateway's: JSON when Accept asks for it. GET routes answer HEAD too.
app.get('/*', (request, reply) => {
  const wantsJson = (request.headers.accept ?? '').includes('application/json')
  reply.code(503).header('retry-after', '300').header('cache-control', 'no-store')
    .type(wantsJson ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8').send(wantsJson ? json : page)
})
const address = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(JSON.stringify({ ready: true, address: address.replace('http://', '') }) + '\n')
