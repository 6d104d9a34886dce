/**
 * @module One entity, one path: the request's path is normalised once, before any route sees it
 * (percent-escapes decoded where a character may stand as itself, Unicode NFC, uppercase hex; see
 * model/location.ts), and a path that has no normal form (`%00`, `%ZZ`, bytes that are not UTF-8,
 * an encoded `/`, `.` or `..` however written) is refused with 400 before anything is done.
 */
import type { Context, Next } from 'koa';
import { ValidationError } from '../errors.ts';
import { toPath } from '../model/location.ts';

/** Rewrites `ctx.path` to its normal form, or answers 400. */
export function pathNormaliser() {
  return function normalisePath(ctx: Context, next: Next): Promise<void> {
    const result = toPath(ctx.path);
    if ('error' in result) throw new ValidationError(`the request path cannot be used: ${result.error}`, [{ pointer: 'path', message: result.error }]);
    if (result.path !== ctx.path) ctx.path = result.path;
    return next();
  };
}
