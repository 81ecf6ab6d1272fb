import t from 'tap'
import { emptyRequestHeaders, readRequestHeaders } from '../../src/http/request-headers.js'

t.test('reads the decision headers from rawHeaders, any case, repeats joined', async (t) => {
  const out = emptyRequestHeaders()
  readRequestHeaders([
    'Host', 'x', 'COOKIE', 'a=1', 'Accept', 'application/json', 'cookie', 'b=2',
    'X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2', 'X-Forwarded-Proto', 'https', 'x-forwarded-proto', 'http',
    'Content-Length', '5', 'Transfer-Encoding', 'chunked', 'X-Drawbridge-Bypass', 's3cret', 'Accepts', 'nope', 'cookies', 'nope'
  ], out)
  t.same(out, {
    cookie: 'a=1; b=2',
    bypass: 's3cret',
    forwardedFor: '1.1.1.1, 2.2.2.2',
    forwardedProto: 'https',
    accept: 'application/json',
    contentLength: '5',
    transferEncoding: 'chunked'
  })
  readRequestHeaders(['x-drawbridge-bypass', 'one', 'x-drawbridge-bypass', 'two'], out)
  t.equal(out.bypass, '', 'a repeated bypass header matches nothing')
  t.equal(out.cookie, undefined, 'reset between requests')
  t.equal(readRequestHeaders(['ACCEPT', 'text/html'], out).accept, 'text/html')
  t.equal(readRequestHeaders(['accepu', 'x'], out).accept, undefined)
})
