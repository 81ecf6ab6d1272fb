import { HTML_TYPE, JSON_TYPE, rendered, type Negotiated } from '../maintenance/page.js'

/**
 * Branded pages for upstream failures (502 refused/reset, 504 timeout) and
 * for flag gates, rendered once at start: the same look as the maintenance
 * page, self-contained, light/dark aware.
 */

interface ErrorText { title: string, heading: string, message: string, code: string }

const TEXTS: Record<number, ErrorText> = {
  502: {
    title: 'Bad gateway',
    heading: 'We can’t reach the application right now',
    message: 'The service behind this address is not answering. This is usually brief; please try again in a moment.',
    code: 'bad_gateway'
  },
  504: {
    title: 'Gateway timeout',
    heading: 'The application is taking too long to answer',
    message: 'Your request did not get a response in time. Please try again in a moment.',
    code: 'gateway_timeout'
  }
}

function page (status: number, text: ErrorText): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta name="color-scheme" content="light dark">
<title>${status} ${text.title}</title>
<style>
  :root { --bg: #f4f6f8; --card: #fff; --text: #1b1f24; --muted: #4f5966; --accent: #0a5bd3; --border: #d5dbe2; }
  @media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --card: #161b22; --text: #e6edf3; --muted: #a4aeba; --accent: #7cb7ff; --border: #30363d; } }
  * { box-sizing: border-box; }
  html { height: 100%; }
  body { margin: 0; min-height: 100%; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 1.5rem;
    padding: clamp(1rem, 4vw, 3rem); background: var(--bg); color: var(--text);
    font: 1rem/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
  main { width: 100%; max-width: 34rem; padding: clamp(1.5rem, 5vw, 2.75rem); background: var(--card);
    border: 1px solid var(--border); border-radius: 1rem; box-shadow: 0 1px 2px rgb(0 0 0 / 6%), 0 12px 32px rgb(0 0 0 / 8%); }
  h1 { margin: 0 0 .5rem; font-size: clamp(1.4rem, 4vw, 1.8rem); line-height: 1.25; }
  p { margin: 0 0 1.25rem; color: var(--muted); }
  a { color: var(--accent); font-weight: 600; }
  a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; border-radius: 2px; }
  footer { color: var(--muted); font-size: .85rem; }
</style>
</head>
<body>
<main aria-labelledby="title">
  <h1 id="title">${text.heading}</h1>
  <p>${text.message}</p>
  <a href="">Try again</a>
</main>
<footer><p>${status} &middot; ${text.title}</p></footer>
</body>
</html>
`
}

function build (status: number): Negotiated {
  const text = TEXTS[status] as ErrorText
  return {
    html: rendered(status, HTML_TYPE, Buffer.from(page(status, text), 'utf8')),
    json: rendered(status, JSON_TYPE, Buffer.from(JSON.stringify({ statusCode: status, error: text.code, message: text.message }), 'utf8'))
  }
}

export const BAD_GATEWAY = build(502)
export const GATEWAY_TIMEOUT = build(504)
