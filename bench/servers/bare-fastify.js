// The floor for a maintenance answer: a bare Fastify route sending a fixed buffer
// of the same bytes as Drawbridge's page, with the same status and headers.
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'

const page = readFileSync(process.argv[2])
const app = Fastify({ logger: false })
app.get('/*', (request, reply) => {
  reply.code(503).header('retry-after', '300').header('cache-control', 'no-store')
    .type('text/html; charset=utf-8').send(page)
})
const address = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(JSON.stringify({ ready: true, address: address.replace('http://', '') }) + '\n')
