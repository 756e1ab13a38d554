#!/usr/bin/env node
// Entry point of `npx acuerdo`: load TypeScript through tsx, then run the CLI.
require('tsx/cjs');
require('./main.ts').main(process.argv).catch((err) => {
  process.stderr.write(`acuerdo: ${err && err.message ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
