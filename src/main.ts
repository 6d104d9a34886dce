/**
 * @module The command line entry point (`npm start`): loads the configuration, starts the server,
 * and shuts it down gracefully on SIGINT or SIGTERM. A bad configuration or an unusable CouchDB
 * exits with one line saying what is wrong.
 */
import { loadConfig } from './config.ts';
import { isOcciError } from './errors.ts';
import { createLogger, startServer } from './server.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  const server = await startServer(config, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  const message = isOcciError(err) ? err.message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`ocni: ${message}\n`);
  process.exit(1);
});
