#!/usr/bin/env node
// Tiny launcher: everything, including error handling and exit codes, lives in dist/cli/main.js.
import { main } from '../dist/cli/main.js';

// The process is passed for its signals: an interrupted run rolls back and exits with 128 + the signal.
process.exitCode = await main(process.argv, undefined, process);
