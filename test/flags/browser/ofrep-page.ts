/// <reference lib="dom" />
// Bundled by esbuild into the page the Chromium test loads: OpenFeature's web
// SDK with the official OFREP web provider, exactly as an application would use it.
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk'
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider'

declare global {
  interface Window {
    startFlags: (baseUrl: string, auth: [string, string]) => Promise<void>
    readFlags: () => Record<string, unknown>
    flagChanges: number
  }
}

window.flagChanges = 0

window.startFlags = async (baseUrl, auth) => {
  await OpenFeature.setContext({ targetingKey: 'browser-user-1', plan: 'pro' })
  OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, () => { window.flagChanges++ })
  await OpenFeature.setProviderAndWait(new OFREPWebProvider({ baseUrl, pollInterval: 200, headers: [auth], cacheMode: 'disabled' }))
}

window.readFlags = () => {
  const client = OpenFeature.getClient()
  return {
    checkout: client.getBooleanDetails('new-checkout', false),
    copy: client.getStringDetails('checkout-copy', 'code-default'),
    copyOff: client.getStringDetails('copy-off', 'code-default')
  }
}
