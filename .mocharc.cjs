/**
 * mocha runs TypeScript under `node --import tsx` (tsx's hooks for require() and
 * import() alike); test/support/hooks.ts provides and stops the database server.
 * The default spec (the whole suite) applies only when no files are named, because
 * mocha appends named files to the configured spec instead of replacing it.
 */
const named = process.argv.slice(2).some((arg) => !arg.startsWith('-') && /\.ts$|^test\b|\*/.test(arg));
module.exports = {
  'node-option': ['import=tsx'],
  require: ['test/support/hooks.ts'],
  ...(named ? {} : { spec: ['test/**/*.test.ts'] }),
  extension: ['ts'],
  timeout: 20000,
  exit: true,
};
