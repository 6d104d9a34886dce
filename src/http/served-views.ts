/**
 * @module Renderings of the query interface built once and served many times: each distinct view
 * (registry version, caller's view of it, media type and profile, base URL, filter) is rendered and
 * serialised once, with a strong `ETag` over its bytes, so `GET /-/` costs a map look-up and a
 * write, and a client holding the same bytes gets `304 Not Modified`.
 */
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { Rendered } from '../render/renderer.ts';
import { encode, respond, type Encoded } from './respond.ts';

/** A rendering frozen for serving: the body encoded once, its tag computed once. */
export interface ServedView {
  answer: Encoded;
  etag: string;
}

/** Freezes a rendering: serialised and encoded here rather than on every response. */
export function freeze(rendered: Rendered): ServedView {
  const answer = encode(rendered);
  const hash = createHash('sha256')
    .update(answer.type)
    .update('\0')
    .update(JSON.stringify(answer.headers ?? {}))
    .update('\0')
    .update(answer.bytes);
  return { answer, etag: `"${hash.digest('base64url').slice(0, 27)}"` };
}

/** True when `If-None-Match` names this tag (or `*`), weak or strong (RFC 9110 §13.1.2 uses the weak comparison). */
export function notModified(ctx: Context, etag: string): boolean {
  const header = ctx.get('If-None-Match');
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

/** Sends a frozen rendering with its tag, or 304 when the client has it. */
export function serve(ctx: Context, view: ServedView): void {
  ctx.set('ETag', view.etag);
  if (notModified(ctx, view.etag)) {
    ctx.status = 304;
    return;
  }
  respond(ctx, view.answer);
}

/**
 * A bounded cache of frozen renderings for one registry version: a new version empties it, and the
 * oldest view goes first when it is full (clients with many distinct filters cannot grow it).
 */
export class ServedViews {
  readonly #views = new Map<string, ServedView>();
  #version = -1;

  constructor(private readonly max = 128) {}

  /** The view under `key` at `version`, built with `build` when absent. */
  get(version: number, key: string, build: () => Rendered): ServedView {
    if (version !== this.#version) {
      this.#views.clear();
      this.#version = version;
    }
    let view = this.#views.get(key);
    if (!view) {
      view = freeze(build());
      if (this.#views.size >= this.max) this.#views.delete(this.#views.keys().next().value!);
      this.#views.set(key, view);
    }
    return view;
  }
}
