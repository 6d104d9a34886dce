/**
 * @module CLI for `npm run cyclades-sim`: serves the demo Cyclades world on 127.0.0.1 (port from
 * `CYCLADES_SIM_PORT`, default 9000) with real-time jobs, and prints where to start.
 */

import { DEMO_TOKEN, createCycladesSimulator } from './simulator.ts';

const DEFAULT_PORT = 9000;

function portFromEnv(): number {
  const raw = process.env['CYCLADES_SIM_PORT'];
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`CYCLADES_SIM_PORT must be a port number, got '${raw}'`);
  }
  return port;
}

async function main(): Promise<void> {
  const simulator = createCycladesSimulator({ mode: 'realtime' });
  const listening = await simulator.listen(portFromEnv(), '127.0.0.1');
  process.stdout.write(`cyclades-sim: identity ${listening.identityUrl} token ${DEMO_TOKEN}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    listening.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`cyclades-sim: error while closing: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`cyclades-sim: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
