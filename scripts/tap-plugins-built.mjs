// Exits 0 when tap's test class is built with this project's plugin set
// (package.json "tap".plugin), 1 when `tap build` is needed. Run by `pretest`.
//
// Why: tap rebuilds a stale test class at the start of a run, but computes the
// test processes' --import flags before that, from the class it loaded
// (@tapjs/run's run.js). So the first `npm test` after `npm ci` (every CI run)
// started each of the ~150 test processes with the default set's
// @tapjs/typescript, which loads ts-node and the TypeScript compiler beside
// tsx: about a second of CPU and 100 MB more per process. Later runs were
// right, which is why only fresh clones were slow.
import '@tapjs/core' // first: @tapjs/test imports it back, and the cycle needs this order
import { TapConfig } from '@tapjs/config'
import { signature } from '@tapjs/test'

const config = await TapConfig.load()
process.exit(config.pluginSignature === signature ? 0 : 1)
