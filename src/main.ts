import 'dotenv/config';
import { loadConfig } from './core/index.js';
import { ConfigError } from './core/index.js';
import { createLogger, setLogger } from './log.js';
import { startService } from './service.js';

/** `npm start`: validate the configuration, start the service, stop cleanly on a signal. */
export async function main(): Promise<void> {
  const started = performance.now();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`acuerdo cannot start. ${err.message}\nSee .env.example for every variable and its meaning.\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const log = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY });
  setLogger(log);
  const service = await startService(config, log);
  log.info({ url: service.url, database: service.database.description, ms: Math.round(performance.now() - started) }, `acuerdo is ready at ${service.url}`);
  if (!process.stdout.isTTY || config.LOG_PRETTY === false) process.stderr.write(`acuerdo is ready at ${service.url}\n`);

  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  watchLauncher(() => stop('launcher exited'));
}

/**
 * npm does not forward SIGTERM to the script it runs: when a process manager stops
 * `npm start`, npm exits and leaves this process orphaned. Under npm, notice the
 * parent going away and shut down as if signalled.
 */
function watchLauncher(onGone: () => void): void {
  if (!process.env.npm_lifecycle_event) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onGone();
    }
  }, 500);
  timer.unref();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`acuerdo failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
