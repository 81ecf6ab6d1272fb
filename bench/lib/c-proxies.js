// nginx and HAProxy as contenders, when installed (`apt-get install nginx-light
// haproxy`): the same upstream behind nginx `proxy_pass` (upstream keepalive),
// nginx's static 503 of the same page, and HAProxy in http mode.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pinned } from './processes.js'

const has = (cmd, args) => spawnSync(cmd, args).error === undefined
export const hasNginx = has('nginx', ['-v'])
export const hasHaproxy = has('haproxy', ['-v'])

async function freePort () {
  return await new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

async function waitFor (port, child, name) {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}`)
    const ok = await new Promise((resolve) => {
      const s = createServer()
      s.once('error', () => resolve(true)) // in use: the proxy is listening
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)))
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${name} did not listen on ${port}`)
}

function launch (command, args) {
  const [cmd, ...rest] = pinned([command, ...args])
  const child = spawn(cmd, rest, { stdio: ['ignore', 'ignore', 'pipe'] })
  return child
}

/** nginx with two servers: proxy_pass to the upstream, and a static 503 of `page`. One worker, as Node is one thread. */
export async function startNginx (upstream, page) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-nginx-'))
  const [proxyPort, staticPort] = [await freePort(), await freePort()]
  writeFileSync(join(dir, 'nginx.conf'), `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000;
  upstream app { server ${upstream}; keepalive 128; }
  server {
    listen 127.0.0.1:${proxyPort};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:${staticPort};
    root ${dir};
    error_page 503 /maintenance.html;
    location = /maintenance.html { internal; add_header Retry-After 300 always; add_header Cache-Control no-store always; }
    location / { return 503; }
  }
}
`)
  writeFileSync(join(dir, 'maintenance.html'), page)
  const child = launch('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir])
  await waitFor(proxyPort, child, 'nginx')
  await waitFor(staticPort, child, 'nginx')
  return { child, pid: child.pid, stopSignal: 'SIGTERM', proxy: `127.0.0.1:${proxyPort}`, static: `127.0.0.1:${staticPort}` }
}

/** HAProxy in http mode with server-side keep-alive, one thread. */
export async function startHaproxy (upstream) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-haproxy-'))
  const port = await freePort()
  writeFileSync(join(dir, 'haproxy.cfg'), `
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:${port}
  default_backend app
backend app
  http-reuse always
  server s1 ${upstream}
`)
  const child = launch('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db'])
  await waitFor(port, child, 'haproxy')
  return { child, pid: child.pid, address: `127.0.0.1:${port}` }
}
