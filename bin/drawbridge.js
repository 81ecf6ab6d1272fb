#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node --max-semi-space-size=4 --no-memory-reducer
// The V8 flag caps the young generation at 4 MiB per semi-space (Node's default
// grows to 16): idle RSS drops by ~15 MB and the request path is no slower
// (measured with `npm run bench`). --no-memory-reducer: V8's memory reducer runs a
// full GC once the process goes idle; the maps it collects are embedded in the
// request path's optimized code (nextTick, route, writeRendered: 73 functions
// deoptimized for "weak objects" after 100 s idle), and the code re-optimized
// afterwards served the 503 at 38-41k req/s instead of 45-51k (nextTick's self
// time x10). Without it: no such deopt, 53k after the same idle. The cost: the
// heap is not shrunk when traffic stops, so RSS stays near its high-water mark
// (bench: 111 MB after the 503 runs instead of 94, 141 MB after thousands of
// short HEAD connections); idle RSS at start is unchanged.
// MALLOC_ARENA_MAX=1: one glibc malloc arena instead of one per thread that
// allocates. How much of Node's 11 threads' arenas start-up touched moved an
// idle gateway's RSS by up to 4 MB from one start to the next; with one arena,
// 72.9-74.8 MB in six starts against 74.7-76.7. Under load (bench/pair.js,
// passthrough with every check, two runs) CPU per request was 0.91x and 0.99x
// the floor's with it against 1.05x and 0.98x without: the request path runs
// on one thread, so the shared arena costs it nothing measurable. It replaces
// a MALLOC_ARENA_MAX from the environment.
// Run as `node bin/drawbridge.js`, none of these is set.
// The published entry: the compiled CLI lives in dist/ (built by `npm run build`, run by `prepare`).
import '../dist/cli/main.js'
