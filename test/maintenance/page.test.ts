import { existsSync, readFileSync } from 'node:fs'
import t from 'tap'
import { ConfigError } from '../../src/errors.js'
import {
  defaultPagePath, escapeHtml, loadPageTemplate, parseTemplate, prefersJson, renderJson, renderMaintenance, renderTemplate
} from '../../src/maintenance/page.js'

t.test('template slots are replaced and HTML-escaped', async (t) => {
  const tpl = parseTemplate('<p>{{message}}</p><i>{{ retryAfter }}</i><time datetime="{{endsAt}}">{{endsAt}}</time>{{unknown}}')
  t.same(tpl.slots, ['message', 'retryAfter', 'endsAt', 'endsAt'])
  const html = renderTemplate(tpl, { message: '<script>alert("x")</script> & \'q\'', retryAfter: 120, endsAt: '2026-11-22T03:00:00.000Z' }).toString()
  t.equal(html, '<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;</p><i>120</i>' +
    '<time datetime="2026-11-22T03:00:00.000Z">2026-11-22T03:00:00.000Z</time>{{unknown}}')
  t.equal(renderTemplate(tpl, { message: 'm', retryAfter: null, endsAt: null }).toString(), '<p>m</p><i></i><time datetime=""></time>{{unknown}}')
  t.equal(escapeHtml('"><img src=x onerror=alert(1)>'), '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;')
})

t.test('JSON body', async (t) => {
  t.same(JSON.parse(renderJson({ message: 'm', retryAfter: null, endsAt: null }).toString()), { error: 'maintenance', message: 'm', retryAfter: null, endsAt: null })
})

t.test('rendered 503 headers', async (t) => {
  const r = renderMaintenance(parseTemplate('x'), { message: 'm', retryAfter: 30, endsAt: null })
  t.equal(r.html.status, 503)
  t.same(r.html.headers, ['content-type', 'text/html; charset=utf-8', 'content-length', '1', 'cache-control', 'no-store', 'vary', 'accept', 'retry-after', '30'])
  t.equal(r.json.headers[1], 'application/json; charset=utf-8')
  const none = renderMaintenance(parseTemplate('x'), { message: 'm', retryAfter: null, endsAt: null })
  t.notOk(none.html.headers.includes('retry-after'), 'no Retry-After when unknown')
})

t.test('Accept negotiation', async (t) => {
  const json = ['application/json', 'application/json, text/plain, */*', 'application/json;q=0.9, text/html;q=0.5', 'text/html;q=0.1, application/json']
  const html = [undefined, '', '*/*', 'text/html', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'text/html, application/json', 'application/json;q=0', 'application/json;q=0.5, */*', 'application/jsonx', 'text/html;q=0.9, application/json;q=0.8']
  for (const a of json) t.ok(prefersJson(a), `JSON: ${a}`)
  for (const a of html) t.notOk(prefersJson(a), `HTML: ${String(a)}`)
  // The one-entry memo must not leak an answer to a different Accept.
  t.ok(prefersJson('application/json'))
  t.notOk(prefersJson('text/html, application/json'))
})

t.test('the packaged page', async (t) => {
  const path = defaultPagePath()
  t.ok(existsSync(path), 'resolved relative to the module, not the cwd')
  const text = readFileSync(path, 'utf8')
  const tpl = loadPageTemplate()
  t.ok(tpl.slots.includes('message'))
  t.ok(tpl.slots.includes('retryAfter'))
  t.ok(tpl.slots.includes('endsAt'))
  t.match(text, /<html lang="en">/)
  t.match(text, /<main\b/, 'landmark')
  t.match(text, /aria-live="polite"/, 'countdown announced politely')
  t.match(text, /prefers-color-scheme: dark/, 'dark mode')
  t.match(text, /name="viewport"/, 'responsive')
  t.notMatch(text, /(src|href)=["']?(https?:)?\/\//, 'no external assets')
  t.notMatch(text, /@import|url\(/, 'no external CSS')
})

t.test('a missing page is a ConfigError naming the setting', async (t) => {
  t.throws(() => loadPageTemplate('/nonexistent/page.html'), ConfigError)
  t.throws(() => loadPageTemplate('/nonexistent/page.html'), { setting: 'page', message: /page: cannot read \/nonexistent\/page.html: ENOENT/ })
})
