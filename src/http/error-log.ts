/**
 * @module What of an error may reach the log: its name, message, code and (for failures of ours)
 * stack, and the same of its causes — never its other properties. Node's parser errors carry the
 * whole raw request (`rawPacket`: headers with `Authorization` and `X-Auth-Token`, the body), and
 * client libraries attach requests and responses; none of that is logged.
 */

/** The loggable form of an error. */
export interface LoggableError {
  type: string;
  message: string;
  code?: string;
  stack?: string;
  cause?: LoggableError;
}

/**
 * Reduces an error to what may be logged (the pino `err` serializer).
 *
 * @param withStack - false for errors of the client (a bad request), whose stack says nothing
 */
export function loggableError(err: unknown, withStack = true, depth = 0): LoggableError {
  if (!(err instanceof Error)) return { type: typeof err, message: typeof err === 'string' ? err : 'a non-error value was thrown' };
  const out: LoggableError = { type: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') out.code = code;
  if (withStack && err.stack) out.stack = err.stack;
  if (err.cause !== undefined && depth < 3) out.cause = loggableError(err.cause, withStack, depth + 1);
  return out;
}
