#!/usr/bin/env node
// `loupe`: settles how Node runs (tuning.ts) before anything else is loaded, then the CLI.
import { tuneRuntime } from './tuning.ts';

tuneRuntime();
const { run } = await import('./run.ts');
run(process.argv.slice(2));
