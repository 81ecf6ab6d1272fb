#!/usr/bin/env node
// The published entry: the compiled CLI lives in dist/ (built by `npm run build`, run by `prepare`).
import '../dist/cli/main.js'
