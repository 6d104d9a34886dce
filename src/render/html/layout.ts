/**
 * @module The page frame of the HTML renderer: document skeleton, header with breadcrumbs, the one
 * inline style sheet, and the security headers every page carries. No page has JavaScript; the
 * Content-Security-Policy allows nothing but that exact style sheet (by hash) and form posts to
 * this server.
 */
import { createHash } from 'node:crypto';
import type { Rendered } from '../renderer.ts';
import { html, raw, type SafeHtml } from './escape.ts';

/** The media type of the HTML renderer. */
export const HTML_TYPE = 'text/html';

/**
 * The inline style sheet, byte for byte as it appears between `<style>` and `</style>`. Pages are
 * plain semantic HTML and read fine without it.
 */
export const STYLE = [
  'body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:0 1rem 2rem;color:#1a1a1a;background:#fff}',
  'header{border-bottom:1px solid #ccc;padding:.5rem 0;margin-bottom:1rem}',
  'header nav{display:inline-block;margin-right:1.5rem}',
  'ol.crumbs{display:inline;list-style:none;margin:0;padding:0}',
  'ol.crumbs li{display:inline}',
  'ol.crumbs li+li::before{content:" \\203A  ";color:#888}',
  'table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}',
  'th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}',
  'th{background:#f3f3f3}',
  'code{font:13px ui-monospace,monospace;word-break:break-all}',
  'td:first-child>code{white-space:nowrap}',
  'dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}',
  'dt{font-weight:600}',
  'dd{margin:0}',
  'section.category{border-top:1px solid #eee;padding-top:.5rem}',
  'form.action{display:inline-block;border:1px solid #ccc;border-radius:4px;padding:.5rem;margin:0 .5rem .5rem 0;vertical-align:top}',
  'form.action label{display:block;margin-bottom:.25rem}',
  '.problem{border-left:4px solid #b00;padding-left:1rem}',
  '.muted{color:#666}',
].join('\n');

/** The base64 SHA-256 of {@link STYLE}, as CSP's `style-src` names it (computed once). */
export const STYLE_HASH = createHash('sha256').update(STYLE, 'utf8').digest('base64');

/** The policy every page is served with: nothing loads or runs but the one inline style sheet. */
export const CONTENT_SECURITY_POLICY = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

/** Headers every HTML response carries. */
export function securityHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed escape is shown as sent.
    return segment;
  }
}

/** Breadcrumbs of a request path: every ancestor collection is a link, the last step is not. */
export function breadcrumbs(path: string): SafeHtml {
  const clean = path.split('?')[0] ?? '/';
  const collection = clean.endsWith('/');
  const segments = clean.split('/').filter((s) => s !== '');
  const items: SafeHtml[] = [segments.length === 0 ? html`<li aria-current="page">/</li>` : html`<li><a href="/">/</a></li>`];
  let prefix = '/';
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    const step = last && !collection ? segment : `${segment}/`;
    prefix += step;
    const label = decodeSegment(step);
    items.push(last ? html`<li aria-current="page">${label}</li>` : html`<li><a href="${prefix}">${label}</a></li>`);
  });
  return html`<ol class="crumbs">${items}</ol>`;
}

/** A whole page as a rendered response. */
export function page(options: { title: string; path: string; main: SafeHtml }): Rendered {
  const body = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${options.title} · ocni</title>
<style>${raw(STYLE)}</style>
</head>
<body>
<header>
<nav aria-label="Site"><a href="/-/">Categories</a> · <a href="/">All entities</a></nav>
<nav aria-label="Breadcrumbs">${breadcrumbs(options.path)}</nav>
</header>
<main>
${options.main}
</main>
</body>
</html>
`;
  return { type: HTML_TYPE, headers: securityHeaders(), body: body.html };
}
