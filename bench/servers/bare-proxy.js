// The baseline: a bare @fastify/http-proxy in front of the same upstream, no checks.
import Fastify from 'fastify'
import proxy from '@fastify/http-proxy'

const app = Fastify({ logger: false })
await app.register(proxy, { upstream: process.argv[2] })
const address = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(JSON.stringify({ ready: true, address: address.replace('http://', '') }) + '\n')
