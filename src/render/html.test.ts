import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Action, Category, Mixin } from '../model/category.ts';
import type { Entity } from '../model/entity.ts';
import { CategoryRegistry } from '../registry/registry.ts';
import { loadBuiltinCategories } from '../registry/builtins.ts';
import { createHtmlRenderer, CONTENT_SECURITY_POLICY, STYLE } from './html.ts';
import { escapeHtml, html, safeHref } from './html/escape.ts';
import { breadcrumbs } from './html/layout.ts';
import type { RenderContext, Rendered } from './renderer.ts';

const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const COMPUTE = `${INFRA}compute`;
const ACTION = 'http://schemas.ogf.org/occi/infrastructure/compute/action#';
const HOSTILE = `<script>alert(1)</script>"><img src=x onerror=alert(2)>'&amp;`;

const registry = new CategoryRegistry(loadBuiltinCategories(), { local: ['local'], remote: [] });
const evilMixin: Mixin = {
  class: 'mixin',
  scheme: 'http://evil.example/"><script>#',
  term: 'x<script>',
  title: HOSTILE,
  attributes: { [`evil.<b>`]: { type: 'string', mutable: true, required: false, default: HOSTILE, pattern: { enum: [HOSTILE, 'ok'] }, description: HOSTILE } },
  depends: [],
  applies: [],
  actions: [`http://evil.example/action#go'"<script>`],
  location: '/evil/"><script>/',
};
const evilAction: Action = {
  class: 'action',
  scheme: 'http://evil.example/action#',
  term: `go'"<script>`,
  title: HOSTILE,
  attributes: {
    [`p"><script>`]: { type: 'string', mutable: true, required: false, default: HOSTILE, pattern: { enum: ['ok', HOSTILE] }, description: HOSTILE },
    free: { type: 'string', mutable: true, required: true, default: `"><img src=x onerror=alert(3)>` },
  },
};
registry.putStored(evilAction, '1-a');
registry.putStored(evilMixin, '1-a');
const renderer = createHtmlRenderer();

function ctx(path: string, extra: Partial<RenderContext> = {}): RenderContext {
  return { baseUrl: 'http://ocni.test', lookup: registry, profile: 'occi', path, ...extra };
}

function body(rendered: Rendered): string {
  expect(typeof rendered.body).toBe('string');
  return rendered.body as string;
}

/** The elements the renderer writes; anything else in a page was injected. */
const ELEMENTS = new Set(
  '!doctype html head meta title style body header nav ol ul li a main h1 h2 h3 h4 p dl dt dd table thead tbody tr th td code span strong section div form label select option input button'.split(' '),
);

/**
 * No markup injected from hostile input: no `<script` at all, only the renderer's own elements, and
 * no event-handler attribute in any tag (quoted attribute values, where escaped text lives, are
 * blanked first, so `onerror=` shown as text does not count).
 */
function expectClean(page: string): void {
  expect(page).not.toMatch(/<script/i);
  for (const tag of page.match(/<\/?[a-zA-Z!][^>]*>/g) ?? []) {
    const name = /^<\/?([a-zA-Z!][a-zA-Z0-9]*)/.exec(tag)![1]!.toLowerCase();
    expect(ELEMENTS, tag).toContain(name);
    const outsideValues = tag.replace(/"[^"]*"/g, '""');
    expect(outsideValues, tag).not.toMatch(/\son[a-z]+\s*=/i);
    expect(outsideValues, tag).not.toMatch(/'/);
  }
  expect(page).not.toMatch(/href="\s*javascript:/i);
}

function expectPageFrame(rendered: Rendered, path: string): string {
  expect(rendered.type).toBe('text/html');
  expect(rendered.headers).toMatchObject({ 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' });
  const page = body(rendered);
  expect(page.startsWith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">')).toBe(true);
  expect(page).toContain('<a href="/-/">Categories</a>');
  expect(page).toContain(breadcrumbs(path).html);
  expect(page.trimEnd().endsWith('</html>')).toBe(true);
  return page;
}

const vm: Entity = {
  location: '/compute/vm1',
  kind: COMPUTE,
  mixins: [],
  title: HOSTILE,
  summary: 'a & b',
  attributes: { 'occi.compute.state': 'inactive', 'occi.compute.cores': 2, 'occi.compute.hostname': HOSTILE, 'occi.compute.tags': ['a', '<b>'] as never },
};
const storageLink: Entity = {
  location: '/storagelink/sl1',
  kind: `${INFRA}storagelink`,
  mixins: [],
  attributes: { 'occi.storagelink.deviceid': 'ide:0:1', 'occi.storagelink.state': 'inactive' },
  source: '/compute/vm1',
  target: '/storage/disk1',
  targetKind: `${INFRA}storage`,
};

describe('escaping', () => {
  it('escapes the five characters that matter in text and quoted attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('escapes every interpolation of the template unless it is already markup', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p title="${'"><script>'}">${inner}${['<', html`<br>`]}${false}${undefined}${3}</p>`.html).toBe('<p title="&quot;&gt;&lt;script&gt;"><b>&lt;i&gt;</b>&lt;<br>3</p>');
  });

  it('makes only paths, http(s) URLs and fragments clickable', () => {
    expect(safeHref('/compute/vm1')).toBe('/compute/vm1');
    expect(safeHref('https://elsewhere.example/n')).toBe('https://elsewhere.example/n');
    expect(safeHref('#c-x')).toBe('#c-x');
    for (const bad of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,x', '//evil.example/', '/\\evil.example', 'vbscript:x']) expect(safeHref(bad)).toBeUndefined();
  });

  it('links each ancestor of the path in the breadcrumbs', () => {
    expect(breadcrumbs('/compute/vm1').html).toBe('<ol class="crumbs"><li><a href="/">/</a></li><li><a href="/compute/">compute/</a></li><li aria-current="page">vm1</li></ol>');
    expect(breadcrumbs('/a/b/').html).toBe('<ol class="crumbs"><li><a href="/">/</a></li><li><a href="/a/">a/</a></li><li aria-current="page">b/</li></ol>');
    expect(breadcrumbs('/').html).toBe('<ol class="crumbs"><li aria-current="page">/</li></ol>');
    expect(breadcrumbs(`/x/"><script>`).html).not.toContain('<script');
  });
});

describe('the security headers', () => {
  it('allow exactly the inline style, by its SHA-256', () => {
    const page = body(renderer.done(ctx('/compute/vm1')));
    const style = /<style>([\s\S]*?)<\/style>/.exec(page)![1]!;
    expect(style).toBe(STYLE);
    const hash = createHash('sha256').update(style, 'utf8').digest('base64');
    expect(CONTENT_SECURITY_POLICY).toBe(`default-src 'none'; style-src 'sha256-${hash}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`);
    expect(page.match(/<style/g)).toHaveLength(1);
    expect(page).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
  });
});

describe('the category page', () => {
  const categories: Category[] = registry.all();
  const page = expectPageFrame(renderer.categories(categories, ctx('/-/', { provider: (id) => registry.provider(id) })), '/-/');

  it('shows every kind, mixin and action with identifier, title and location', () => {
    expect(page).toContain('<h1>Categories</h1>');
    expect(page).toContain(`<code>${COMPUTE}</code>`);
    expect(page).toContain('<dt>Location</dt><dd><a href="/compute/"><code>/compute/</code></a></dd>');
    expect(page).toContain(`<dt>Identifier</dt><dd><code>${ACTION}start</code></dd>`);
    expect(page).toContain('<dt>Title</dt><dd>Start the system</dd>');
    for (const c of registry.all()) expect(page).toContain(`id="c-${escapeHtml(encodeURIComponent(c.scheme + c.term))}"`);
  });

  it('links parents, applies and actions to their entries, and shows providers', () => {
    expect(page).toContain(
      `<dt>Parent</dt><dd><a href="/-/#c-${encodeURIComponent('http://schemas.ogf.org/occi/core#resource')}" title="http://schemas.ogf.org/occi/core#resource"><code>resource</code></a></dd>`,
    );
    expect(page).toContain(`<a href="/-/#c-${encodeURIComponent(`${ACTION}stop`)}" title="${ACTION}stop"><code>stop</code></a>`);
    expect(page).toContain('<dt>Provider</dt><dd>local: local; remote: none</dd>');
    expect(page).toMatch(/<dt>Applies<\/dt><dd><a href="\/-\/#c-[^"]+" title="http:\/\/schemas.ogf.org\/occi\/infrastructure#compute"><code>compute<\/code><\/a><\/dd>/);
  });

  it('shows attribute definitions in a table, patterns as compact JSON', () => {
    expect(page).toContain(
      '<th scope="col">Name</th><th scope="col">Type</th><th scope="col">Mutable</th><th scope="col">Required</th><th scope="col">Default</th><th scope="col">Pattern</th><th scope="col">Description</th>',
    );
    expect(page).toMatch(
      /<tr><td><code>method<\/code><\/td><td>string<\/td><td>yes<\/td><td>no<\/td><td><code>&quot;poweroff&quot;<\/code><\/td><td><code>\{&quot;type&quot;:&quot;string&quot;,&quot;enum&quot;:\[&quot;graceful&quot;,&quot;acpioff&quot;,&quot;poweroff&quot;\]\}<\/code><\/td><td>How to stop the system.<\/td><\/tr>/,
    );
  });

  it('omits providers for callers that are not operators', () => {
    expect(body(renderer.categories(registry.all(), ctx('/-/')))).not.toContain('<dt>Provider</dt>');
  });

  it('escapes hostile terms, schemes, titles, locations and definitions', () => {
    expectClean(page);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;&amp;amp;');
    expect(page).toContain('<a href="/evil/&quot;&gt;&lt;script&gt;/"><code>/evil/&quot;&gt;&lt;script&gt;/</code></a>');
    expect(page).toContain('<code>evil.&lt;b&gt;</code>');
  });
});

describe('the entity page', () => {
  const page = expectPageFrame(renderer.entity(vm, [storageLink], ctx('/compute/vm1')), '/compute/vm1');

  it('shows kind, title, summary and attributes', () => {
    expect(page).toContain(`<dt>Kind</dt><dd><a href="/compute/">Compute Resource <code>${COMPUTE}</code></a></dd>`);
    expect(page).toContain('<dt>Summary</dt><dd>a &amp; b</dd>');
    expect(page).toContain('<dt>Location</dt><dd><a href="http://ocni.test/compute/vm1"><code>http://ocni.test/compute/vm1</code></a></dd>');
    expect(page).toContain('<tr><td><code>occi.compute.cores</code></td><td><code>2</code></td></tr>');
    expect(page).toContain('<tr><td><code>occi.compute.state</code></td><td>inactive</td></tr>');
    expect(page).toContain('<tr><td><code>occi.compute.tags</code></td><td><code>[&quot;a&quot;,&quot;&lt;b&gt;&quot;]</code></td></tr>');
  });

  it('shows the hostile title and attribute as text', () => {
    expectClean(page);
    expect(page).toContain('<title>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;&amp;amp; · ocni</title>');
    expect(page).toContain('<h1>&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('links each link to itself and its target, absolutely', () => {
    expect(page).toContain('<td><a href="http://ocni.test/storagelink/sl1"><code>sl1</code></a></td>');
    expect(page).toContain('<a href="http://ocni.test/storage/disk1"><code>/storage/disk1</code></a>');
    expect(page).toMatch(/<td>inactive<\/td><\/tr>/);
  });

  it('offers one form per applicable action, posting to the entity with ?action=', () => {
    const forms = page.match(/<form [^>]*>/g) ?? [];
    expect(forms).toEqual(['<form class="action" method="post" action="/compute/vm1?action=start" enctype="application/x-www-form-urlencoded">']);
    expect(page).toContain('<button type="submit">Start the system</button>');
    const active = body(renderer.entity({ ...vm, attributes: { ...vm.attributes, 'occi.compute.state': 'active' } }, [], ctx('/compute/vm1')));
    const actions = [...active.matchAll(/<form [^>]*action="([^"]+)"/g)].map((m) => m[1]);
    expect(actions).toEqual(['/compute/vm1?action=stop', '/compute/vm1?action=restart', '/compute/vm1?action=suspend', '/compute/vm1?action=save']);
  });

  it('gives each parameter a field: a select preselecting the default for enumerations', () => {
    const active = body(renderer.entity({ ...vm, attributes: { ...vm.attributes, 'occi.compute.state': 'active' } }, [], ctx('/compute/vm1')));
    expect(active).toContain('<select name="method"><option value="graceful">graceful</option><option value="acpioff">acpioff</option><option value="poweroff" selected>poweroff</option></select>');
    expect(active).toContain('<select name="method"><option value="graceful">graceful</option><option value="warm">warm</option><option value="cold" selected>cold</option></select>');
    // save's "name" has no enumeration and no default: a free text input.
    expect(active).toContain('<input type="text" name="name">');
    expect(active).toContain(`<button type="submit">${registry.action(`${ACTION}stop`)!.title!}</button>`);
  });

  it('renders required number parameters and hostile enumerations safely', () => {
    const disk: Entity = { location: '/storage/d1', kind: `${INFRA}storage`, mixins: [evilMixin.scheme + evilMixin.term], attributes: { 'occi.storage.state': 'online', 'occi.storage.size': 5 } };
    const page = body(renderer.entity(disk, [], ctx('/storage/d1')));
    expect(page).toContain('<form class="action" method="post" action="/storage/d1?action=resize"');
    expect(page).toContain('<input type="number" step="any" name="size" required>');
    // The mixin links to its location, escaped.
    expect(page).toContain('<li><a href="/evil/&quot;&gt;&lt;script&gt;/">&lt;script&gt;alert(1)');
    // Its hostile action: term encoded in the URL, parameter names, values and default escaped.
    expect(page).toContain(`<form class="action" method="post" action="/storage/d1?action=go&#39;%22%3Cscript%3E"`);
    expect(page).toContain(
      `<select name="p&quot;&gt;&lt;script&gt;"><option value="ok">ok</option><option value="&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;&amp;amp;" selected>`,
    );
    expect(page).toContain(`<input type="text" name="free" value="&quot;&gt;&lt;img src=x onerror=alert(3)&gt;" required>`);
    expect(page).toContain('<button type="submit">&lt;script&gt;alert(1)');
    expectClean(page);
  });

  it("shows a link's source and target as links, and no links section", () => {
    const page = expectPageFrame(renderer.entity(storageLink, [], ctx('/storagelink/sl1')), '/storagelink/sl1');
    expect(page).toContain('<dt>Source</dt><dd><a href="http://ocni.test/compute/vm1"><code>/compute/vm1</code></a></dd>');
    expect(page).toContain('<dt>Target</dt><dd><a href="http://ocni.test/storage/disk1"><code>/storage/disk1</code></a>');
    expect(page).not.toContain('<h2>Links</h2>');
    expect(page).toContain('action="/storagelink/sl1?action=online"');
  });

  it('does not make a hostile external target clickable', () => {
    const page = body(renderer.entity({ ...storageLink, target: 'javascript:alert(1)' }, [], ctx('/storagelink/sl1')));
    expect(page).toContain('<dt>Target</dt><dd><span><code>javascript:alert(1)</code></span>');
    expect(page).not.toContain('href="javascript:');
  });
});

describe('the collection page', () => {
  it('lists entities with id, kind, title and state, and a next link', () => {
    const rendered = renderer.collection([vm, storageLink], () => [], ctx('/compute/', { next: 'http://ocni.test/compute/?page=2&number=2' }));
    const page = expectPageFrame(rendered, '/compute/');
    expect(page).toContain('<th scope="col">Id</th><th scope="col">Kind</th><th scope="col">Title</th><th scope="col">State</th>');
    expect(page).toContain(
      `<tr><td><a href="http://ocni.test/compute/vm1"><code>vm1</code></a></td><td><a href="/-/#c-${encodeURIComponent(COMPUTE)}" title="${COMPUTE}"><code>compute</code></a></td>`,
    );
    expect(page).toContain('<td>inactive</td>');
    expect(page).toContain('<a href="http://ocni.test/compute/?page=2&amp;number=2" rel="next">Next page</a>');
    expectClean(page);
  });

  it('says when it is empty and has no next link without ctx.next', () => {
    const page = body(renderer.collection([], () => [], ctx('/compute/')));
    expect(page).toContain('<p class="muted">No entities.</p>');
    expect(page).not.toContain('rel="next"');
  });
});

describe('created, done and problem pages', () => {
  it('links what was created, with its inline links', () => {
    const page = expectPageFrame(
      renderer.created([vm], () => [storageLink], ctx('/compute/')),
      '/compute/',
    );
    expect(page).toContain('<h1>Created</h1>');
    expect(page).toContain('<a href="http://ocni.test/compute/vm1"><code>vm1</code></a>');
    expect(page).toContain('<a href="http://ocni.test/storagelink/sl1"><code>sl1</code></a>');
    expectClean(page);
  });

  it('confirms a change', () => {
    const page = expectPageFrame(renderer.done(ctx('/compute/vm1')), '/compute/vm1');
    expect(page).toContain('<h1>Done</h1>');
    expect(page).toContain('<a href="/compute/vm1">Back</a>');
  });

  it('shows status, title, detail and the per-field errors, escaped', () => {
    const rendered = renderer.problem(
      {
        type: 'about:blank',
        title: 'Bad Request',
        status: 400,
        detail: `attribute ${HOSTILE} is wrong`,
        code: 'validation',
        errors: [{ pointer: `/attributes/${HOSTILE}`, detail: 'is not <defined>' }],
      },
      { baseUrl: 'http://ocni.test', path: '/compute/' },
    );
    const page = expectPageFrame(rendered, '/compute/');
    expect(page).toContain('<h1>400 Bad Request</h1>');
    expect(page).toContain('<p>attribute &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('<td>is not &lt;defined&gt;</td>');
    expect(page).toContain('<code>validation</code>');
    expectClean(page);
  });
});
