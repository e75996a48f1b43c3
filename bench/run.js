#!/usr/bin/env node
// Placeholder until the migration benchmark exists (it needs `syn2mas migrate`).
process.stderr.write('npm run bench: the migration benchmark is not built yet in this version.\n');
process.exitCode = 2;
