import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import Koa from 'koa';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { requestLog } from './request-log.ts';

/** A logger writing JSON lines into `lines`. */
function capture(lines: Record<string, unknown>[]) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(app: Koa): Promise<string> {
  const handle = app.callback();
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

describe('request logging', () => {
  it('the lazy request logger carries the request id and the caller when a request logs, as the eager child loggers did', async () => {
    const lines: Record<string, unknown>[] = [];
    const app = new Koa();
    app.use(requestLog(capture(lines), 'test'));
    app.use(async (ctx, next) => {
      ctx.state.principal = { id: 'alice' };
      await next();
    });
    app.use((ctx) => {
      if (ctx.path === '/warn') (ctx.state.log as pino.Logger).warn('something');
      ctx.body = 'ok';
    });
    const base = await serve(app);
    const res = await fetch(`${base}/warn`);
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await fetch(`${base}/quiet`);
    const warned = lines.find((l) => l.msg === 'something');
    expect(warned).toMatchObject({ reqId: id, user: 'alice', level: 40 });
    // One request line per request, each with its own id; the quiet one made no child and logged nothing else.
    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests.map((l) => l.path)).toEqual(['/warn', '/quiet']);
    expect(lines).toHaveLength(3);
  });

  it('a request may still replace its logger', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = capture(lines);
    const app = new Koa();
    app.use(requestLog(logger, 'test'));
    app.use((ctx) => {
      ctx.state.log = logger.child({ replaced: true });
      (ctx.state.log as pino.Logger).info('after');
      ctx.body = 'ok';
    });
    await fetch(`${await serve(app)}/`);
    expect(lines.find((l) => l.msg === 'after')).toMatchObject({ replaced: true });
  });
});
