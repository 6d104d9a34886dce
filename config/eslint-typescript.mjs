/**
 * Preloaded into the ESLint process (`npm run lint`): typescript-eslint's type-aware rules need
 * TypeScript's JavaScript API, which TypeScript 7 (the project's compiler, native) no longer
 * ships. Inside this process only, `typescript` resolves to `typescript-for-lint` (TypeScript 5.9,
 * a devDependency), for CommonJS `require` and ESM `import` alike. Type checking stays `tsc`'s.
 */
import Module, { register } from 'node:module';

const ALIAS = 'typescript-for-lint';
const rename = (request) => (request === 'typescript' || request.startsWith('typescript/') ? ALIAS + request.slice('typescript'.length) : request);

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveTypescriptForLint(request, ...rest) {
  return resolveFilename.call(this, rename(request), ...rest);
};

const hooks = `export async function resolve(specifier, context, next) {
  const renamed = specifier === 'typescript' || specifier.startsWith('typescript/') ? ${JSON.stringify(ALIAS)} + specifier.slice(10) : specifier;
  return next(renamed, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, import.meta.url);
