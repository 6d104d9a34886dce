/**
 * @module The category page (`GET /-/` in HTML): every kind, mixin and action with its identifier,
 * title, location, relations, actions and attribute definitions.
 */
import { categoryId, type AttributeDefinitions, type Category } from '../../model/category.ts';
import type { RenderContext, Rendered } from '../renderer.ts';
import { html, json, link, type Fragment, type SafeHtml } from './escape.ts';
import { page } from './layout.ts';

/**
 * The fragment id of a category on the category page. Percent-encoding keeps it free of spaces
 * and `#`, so `href="#<anchor>"` and `id="<anchor>"` match byte for byte.
 */
export function categoryAnchor(id: string): string {
  return `c-${encodeURIComponent(id)}`;
}

/**
 * A link to a category's entry on the full category page, labelled with its term. Always via
 * `/-/` (why: a filtered category page may not hold the category it refers to).
 */
export function categoryRef(id: string): SafeHtml {
  const hash = id.lastIndexOf('#');
  const term = hash >= 0 ? id.slice(hash + 1) : id;
  return link(`/-/#${categoryAnchor(id)}`, html`<code>${term}</code>`, { title: id });
}

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

/** The attribute-definition table of a category (or of an action's parameters). */
export function definitionTable(definitions: AttributeDefinitions): SafeHtml {
  const names = Object.keys(definitions);
  if (names.length === 0) return html`<p class="muted">No attributes.</p>`;
  const rows = names.map((name) => {
    const d = definitions[name]!;
    return html`<tr><td><code>${name}</code></td><td>${d.type}</td><td>${yesNo(d.mutable)}</td><td>${yesNo(d.required)}</td><td>${d.default !== undefined && html`<code>${json(d.default)}</code>`}</td><td>${d.pattern !== undefined && html`<code>${json(d.pattern)}</code>`}</td><td>${d.description}</td></tr>`;
  });
  return html`<table>
<thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Mutable</th><th scope="col">Required</th><th scope="col">Default</th><th scope="col">Pattern</th><th scope="col">Description</th></tr></thead>
<tbody>
${rows.map((r) => html`${r}\n`)}</tbody>
</table>`;
}

function refs(ids: string[]): Fragment {
  if (ids.length === 0) return html`<span class="muted">none</span>`;
  return ids.map((id, i) => html`${i > 0 && ', '}${categoryRef(id)}`);
}

function row(label: string, value: Fragment): SafeHtml {
  return html`<dt>${label}</dt><dd>${value}</dd>\n`;
}

function categorySection(category: Category, ctx: RenderContext): SafeHtml {
  const id = categoryId(category);
  const rows: SafeHtml[] = [row('Identifier', html`<code>${id}</code>`), row('Class', category.class)];
  if (category.title !== undefined) rows.push(row('Title', category.title));
  if (category.class !== 'action' && category.location) rows.push(row('Location', link(category.location, html`<code>${category.location}</code>`)));
  if (category.class === 'kind') {
    const kind = category;
    rows.push(row('Parent', kind.parent ? categoryRef(kind.parent) : html`<span class="muted">none</span>`));
    if (ctx.provider) {
      const provider = ctx.provider(id);
      rows.push(row('Provider', html`local: ${provider.local.join(', ') || 'none'}; remote: ${provider.remote.join(', ') || 'none'}`));
    }
  }
  if (category.class === 'mixin') {
    const mixin = category;
    rows.push(row('Depends', refs(mixin.depends)));
    rows.push(row('Applies', refs(mixin.applies)));
  }
  if (category.class !== 'action') rows.push(row('Actions', refs(category.actions)));
  rows.push(row('Origin', category.builtin ? 'built in (read-only)' : category.owner ? `added by ${category.owner}` : 'added at runtime'));
  return html`<section class="category" id="${categoryAnchor(id)}">
<h3>${category.title ?? category.term} <span class="muted">(${category.class} <code>${category.term}</code>)</span></h3>
<dl>
${rows}</dl>
<h4>Attributes</h4>
${definitionTable(category.attributes)}
</section>
`;
}

function index(categories: Category[]): SafeHtml {
  const rows = categories.map((c) => {
    const id = categoryId(c);
    const location = c.class !== 'action' ? c.location : undefined;
    return html`<tr><td>${c.class}</td><td>${categoryRef(id)}</td><td>${c.title}</td><td><code>${c.scheme}</code></td><td>${location && link(location, html`<code>${location}</code>`)}</td></tr>\n`;
  });
  return html`<table>
<thead><tr><th scope="col">Class</th><th scope="col">Term</th><th scope="col">Title</th><th scope="col">Scheme</th><th scope="col">Location</th></tr></thead>
<tbody>
${rows}</tbody>
</table>`;
}

/** The page of a category collection: an index, then kinds, mixins and actions in full. */
export function categoriesPage(categories: Category[], ctx: RenderContext): Rendered {
  const groups: [string, Category['class']][] = [
    ['Kinds', 'kind'],
    ['Mixins', 'mixin'],
    ['Actions', 'action'],
  ];
  const sections = groups.map(([heading, cls]) => {
    const members = categories.filter((c) => c.class === cls);
    return html`<section>
<h2 id="${cls}s">${heading} (${members.length})</h2>
${members.length === 0 ? html`<p class="muted">None.</p>` : members.map((c) => categorySection(c, ctx))}
</section>
`;
  });
  const main = html`<h1>Categories</h1>
<p>${categories.length} categories: ${groups.map(([heading, cls], i) => html`${i > 0 && ' · '}<a href="#${cls}s">${heading}</a>`)}</p>
${index(categories)}
${sections}`;
  return page({ title: 'Categories', path: ctx.path, main });
}
