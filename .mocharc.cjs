/**
 * mocha runs TypeScript through tsx; test/support/hooks.ts provides the database.
 * The default spec (the whole suite) applies only when no files are named, because
 * mocha appends named files to the configured spec instead of replacing it.
 */
const named = process.argv.slice(2).some((arg) => !arg.startsWith('-') && /\.ts$|^test\b|\*/.test(arg));
module.exports = {
  require: ['tsx/cjs', 'test/support/hooks.ts'],
  ...(named ? {} : { spec: ['test/**/*.test.ts'] }),
  extension: ['ts'],
  timeout: 20000,
  exit: true,
};
