/**
 * @module Requests Node's HTTP parser cannot read (a broken chunked body, a bad header line, a head
 * over `limits.headerBytes`, a slow client): answered with a bare status and closed, and logged as
 * one info line with the parser's message and code only. Node's parser errors carry the raw
 * request (`rawPacket`), headers and credentials included; it is never logged.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

/** The status for a parser error code: 431 for an oversized head, 408 for a timeout, else 400. */
export function clientErrorStatus(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

/** Installs the `clientError` handler on a server. */
export function handleClientErrors(server: Server, logger: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const code = typeof err.code === 'string' ? err.code : undefined;
    // A peer that went away is not worth a line.
    if (code !== 'ECONNRESET') logger.info({ code, message: err.message }, 'unreadable request');
    // As Node does: answer only when no response of this connection has started, so that nothing
    // is written into the middle of one.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (socket.writable && code !== 'ECONNRESET' && !inFlight?.headersSent) {
      const status = clientErrorStatus(code);
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\nX-Content-Type-Options: nosniff\r\n\r\n`);
    }
    socket.destroy();
  });
}
