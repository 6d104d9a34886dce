/**
 * The README's "Evolving your kinds" walk-through, run verbatim with curl against a fresh server:
 * each line's trailing comment says the status it answers.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server.ts';
import { call, dropDatabases, freshPrefix, startTestServer } from './support/harness.ts';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;

/** The curl lines between the evolve markers, each with the status its comment expects. */
function walkThrough(): { line: string; status: string }[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('<!-- evolve:start -->'), readme.indexOf('<!-- evolve:end -->'));
  return section
    .split('\n')
    .filter((line) => line.startsWith('curl '))
    .map((line) => {
      const match = / # (\d{3})(:.*)?$/.exec(line);
      return { line: match ? line.slice(0, match.index) : line, status: match?.[1] ?? '?' };
    });
}

function shellWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|(\S+)/g;
  for (let match = pattern.exec(line); match; match = pattern.exec(line)) words.push(match[1] ?? match[2]!);
  return words;
}

const prefix = freshPrefix('readmeevolve');
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ prefix, overrides: { seedCategories: [] } });
});
afterAll(async () => {
  await server.close();
  await dropDatabases(prefix);
});

describe('the README "Evolving your kinds" walk-through', () => {
  it('works verbatim with curl, in order, each line answering the status its comment says', async () => {
    const steps = walkThrough();
    expect(steps.length).toBe(17);
    const got: string[] = [];
    for (const { line } of steps) {
      const args = shellWords(line.replaceAll('http://localhost:8090', server.url)).slice(1);
      const sink = args.includes('-o') ? [] : ['--output', '/dev/null'];
      const { stdout } = await run('curl', [...args, ...sink, '--write-out', '%{http_code}'], { cwd: ROOT });
      got.push(stdout.trim().slice(-3));
    }
    expect(got).toEqual(steps.map((s) => s.status));
    // The end state: the router kind is gone, the saved model still has it.
    const saved = JSON.parse(readFileSync('/tmp/ocni-model.json', 'utf8')) as { kinds: { term: string }[] };
    expect(saved.kinds.map((k) => k.term)).toContain('router');
    expect((await call(server.url, 'GET', '/router/r1')).status).toBe(404);
  });
});
