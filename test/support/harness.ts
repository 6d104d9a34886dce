/**
 * Test harness: starts real ocni servers on 127.0.0.1 against the shared CouchDB-protocol server,
 * each test file with its own database prefix, and talks to them over HTTP.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import pino from 'pino';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { deleteDatabases } from './couch-fetch.ts';

/** The CouchDB URL the global setup chose. */
export function couchUrl(): string {
  return inject('couchUrl');
}

/** A fresh database prefix, so test files never share data. */
export function freshPrefix(label: string): string {
  return `t_${label.replace(/[^a-z0-9]/g, '')}_${randomBytes(4).toString('hex')}_`;
}

/** Starts an ocni server on a free loopback port; `prefix` shares databases between servers. */
export async function startTestServer(options: { prefix: string; overrides?: Record<string, unknown> }): Promise<RunningServer> {
  const config = loadConfig(
    {},
    {
      port: 0,
      host: '127.0.0.1',
      couchdb: { url: couchUrl(), dbPrefix: options.prefix },
      log: { level: 'silent', pretty: false },
      ...options.overrides,
    },
  );
  return startServer(config, pino({ level: process.env.OCNI_TEST_LOG_LEVEL ?? 'silent' }));
}

/**
 * Deletes the databases of a prefix (on `url`, the shared store by default). Credentials in the URL
 * are sent as a header; a refusal other than 404 fails the test file instead of leaking databases.
 */
export async function dropDatabases(prefix: string, url: string = couchUrl()): Promise<void> {
  await deleteDatabases(url, [`${prefix}categories`, `${prefix}entities`]);
}

/** A response with its body read as text and, when it is JSON, parsed. */
export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/**
 * Sends one request the way curl would: a JSON body (object or fixture text) as
 * application/occi+json. Uses node:http because fetch refuses bodies on GET, which pyOCNI's
 * filters need.
 */
export function call(base: string, method: string, path: string, options: { body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<TestResponse> {
  const headers: Record<string, string> = { accept: 'application/occi+json', ...options.headers };
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/occi+json';
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        resolve({ status: res.statusCode ?? 0, headers: responseHeaders, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Reads a fixture file's text (`fixtures/<name>`), as `curl -d@file` would send it. */
export function fixture(name: string): string {
  return readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8');
}
