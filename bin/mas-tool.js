#!/usr/bin/env node
// Tiny launcher: everything, including error handling and exit codes, lives in dist/cli/main.js.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
