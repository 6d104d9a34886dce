import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;

/** The curl commands between the HowTo markers of the README, in order. */
function howtoCommands(): string[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('<!-- howto:start -->'), readme.indexOf('<!-- howto:end -->'));
  return section.split('\n').filter((line) => line.startsWith('curl '));
}

/** Splits a shell command line the way sh would for these lines: single quotes, no expansions. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|(\S+)/g;
  for (let match = pattern.exec(line); match; match = pattern.exec(line)) words.push(match[1] ?? match[2]!);
  return words;
}

const prefix = freshPrefix('readme');
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ prefix });
});
afterAll(async () => {
  await server.close();
  await dropDatabases(prefix);
});

describe('the README HowTo', () => {
  it('has the curl commands of pyOCNI §4.1 to §4.4', () => {
    expect(howtoCommands().length).toBe(22);
  });

  it('works verbatim with curl, in order, from fixtures/pyocni', async () => {
    const statuses: string[] = [];
    for (const line of howtoCommands()) {
      // Only the host changes: the test server listens on a free port instead of 8090.
      const args = shellWords(line.replaceAll('http://localhost:8090', server.url)).slice(1);
      const { stdout } = await run('curl', [...args, '--silent', '--output', '/dev/null', '--write-out', '%{http_code}'], { cwd: `${ROOT}fixtures/pyocni` });
      statuses.push(stdout.trim());
    }
    expect(statuses).toEqual(['200', '200', '200', '200', '200', '200', '201', '200', '200', '200', '200', '200', '200', '201', '200', '200', '200', '200', '204', '201', '200', '204']);
    // The end state the comments describe.
    expect((await call(server.url, 'GET', '/compute/9930')).status).toBe(404);
    const medium = (await call(server.url, 'GET', '/template/resource/medium/')).json as { resources: { id: string }[] };
    expect(medium.resources.map((r) => r.id)).toEqual(['vm1']);
    const users = (await call(server.url, 'GET', '/users/')).json as { resources: unknown[] };
    expect(users.resources).toEqual([]);
  });
});
