import { main } from './main.js';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`acuerdo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
