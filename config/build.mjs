/**
 * `npm run build` (and `prestart`): compiles the server to JavaScript in dist/, so that production
 * runs on bare Node instead of under tsx. tsx registers module hooks that run in a loader thread of
 * their own (a second V8 isolate) and keeps every transformed source and its source map: about 25 MB
 * of ocni's RSS and a third of its start-up CPU. Tests and tools keep running TypeScript through tsx
 * and vitest.
 *
 * dist/ mirrors src/ (tsconfig.build.json: rootDir src, only what src/main.ts imports), so paths
 * built from `import.meta.url` to ../config, ../package.json and ../schemas resolve alike from
 * either; the files the server reads next to its own modules are copied beside them.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
/** Read at run time relative to the module reading them (src/registry/builtins.ts, src/store/embedded/server.ts). */
const ASSETS = ['registry/builtin/core.json', 'registry/builtin/infrastructure.json', 'registry/builtin/templates.json', 'store/embedded/child.mjs', 'store/embedded/durability.mjs'];

// Stale modules of a renamed source would otherwise stay loadable.
rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
for (const file of ASSETS) cpSync(`${root}src/${file}`, `${dist}/${file}`);
