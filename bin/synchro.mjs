#!/usr/bin/env node
// Runs the esbuild bundle: no TypeScript compile at start-up. `npm install` builds it (prepare).
import "../dist/synchro.mjs";
