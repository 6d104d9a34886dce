/**
 * @module Escaping for the HTML renderer. Markup is built with the {@link html} tagged template,
 * which escapes every interpolated value unless it is already {@link SafeHtml}: escaping is the
 * default, so a forgotten call cannot inject markup. Every attribute in the templates is quoted
 * with `"`, and `"` and `'` are escaped too, so the same escaping is right in text and attribute
 * contexts.
 */

/** Markup that is already escaped (only {@link html} and {@link raw} make it). */
export class SafeHtml {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

/**
 * What a template may interpolate: text (escaped), numbers, markup, lists of those (concatenated),
 * and `false`/`null`/`undefined` (nothing, so `${cond && html`…`}` works).
 */
export type Fragment = SafeHtml | string | number | false | null | undefined | readonly Fragment[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML text and (quoted) attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function render(value: Fragment): string {
  if (value === false || value === null || value === undefined) return '';
  if (value instanceof SafeHtml) return value.html;
  if (Array.isArray(value)) return (value as readonly Fragment[]).map(render).join('');
  return escapeHtml(String(value));
}

/** Builds markup: literal template parts are trusted, interpolated values are escaped. */
export function html(strings: TemplateStringsArray, ...values: Fragment[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

/** Trusted markup, for constants only (never for data). */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/**
 * A URL fit for `href`: a path of this server (`/…` but not `//host`), an `http(s)` URL or a
 * fragment. Anything else (`javascript:`, `data:`, …) is refused, so a hostile link target is shown
 * as text, never made clickable. The result still goes through {@link html}'s escaping.
 */
export function safeHref(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  if (url.startsWith('#')) return url;
  if (url.startsWith('/') && !url.startsWith('//') && !url.startsWith('/\\')) return url;
  if (/^https?:\/\/[^\s]+$/i.test(url)) return url;
  return undefined;
}

/** A link when the URL is safe, the label as text otherwise. */
export function link(url: string | undefined, label: Fragment, attributes: { rel?: string; title?: string } = {}): SafeHtml {
  const href = safeHref(url);
  if (href === undefined) return html`<span>${label}</span>`;
  return html`<a href="${href}"${attributes.rel ? html` rel="${attributes.rel}"` : ''}${attributes.title ? html` title="${attributes.title}"` : ''}>${label}</a>`;
}

/** A value as compact JSON (attribute defaults, patterns, non-string values). */
export function json(value: unknown): string {
  return JSON.stringify(value) ?? '';
}
