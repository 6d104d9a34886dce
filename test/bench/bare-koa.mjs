/**
 * @module The reference for `GET /-/`: a bare Koa handler sending fixed bytes (the file named by
 * the first argument, with the media type of the second), in a process of its own like ocni. It
 * prints its port on stdout and stops on SIGTERM. Plain JavaScript on bare Node, as ocni runs
 * compiled (`npm start`): neither side pays for a TypeScript loader.
 */
import { readFileSync } from 'node:fs';
import Koa from 'koa';

const [file, type] = process.argv.slice(2);
const body = readFileSync(file);
const app = new Koa();
app.use((ctx) => {
  ctx.type = type;
  ctx.body = body;
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
