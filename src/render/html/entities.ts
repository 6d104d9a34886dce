/**
 * @module The entity pages: one entity (with its links and a form per applicable action), an entity
 * collection, and the answer to a creation.
 */
import { attributeText, type AttributeDefinition, type AttributeValue } from '../../model/category.ts';
import { applicableActions, idOf, type Entity } from '../../model/entity.ts';
import { absolute } from '../occi-json/entities.ts';
import type { RenderContext, Rendered } from '../renderer.ts';
import { categoryRef } from './categories.ts';
import { html, json, link, type Fragment, type SafeHtml } from './escape.ts';
import { page } from './layout.ts';

/** The term of a category identifier (after its `#`). */
function termOf(id: string): string {
  return id.slice(id.lastIndexOf('#') + 1);
}

/** The name of the attribute holding an entity's state (`occi.compute.state`, …), if it has one. */
export function stateAttribute(entity: Entity): string | undefined {
  return Object.keys(entity.attributes).find((name) => name.endsWith('.state') && typeof entity.attributes[name] === 'string');
}

/** An attribute value for display: strings as they are, anything else as compact JSON. */
function showValue(value: AttributeValue | undefined): Fragment {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : html`<code>${json(value)}</code>`;
}

/** A link to an entity's page (absolute, like the JSON rendering), labelled with its id. */
function entityLink(entity: Entity, ctx: RenderContext): SafeHtml {
  return link(absolute(ctx, entity.location), html`<code>${idOf(entity.location)}</code>`);
}

/** A link end (path here, or external URL), clickable when it is safe to be. */
function endLink(end: string, ctx: RenderContext): SafeHtml {
  return link(absolute(ctx, end), html`<code>${end}</code>`);
}

function kindLink(kindId: string, ctx: RenderContext): SafeHtml {
  const kind = ctx.lookup.kind(kindId);
  const label = html`${kind?.title ?? termOf(kindId)} <code>${kindId}</code>`;
  return kind?.location ? link(kind.location, label) : html`<span>${label}</span>`;
}

function mixinLinks(mixins: string[], ctx: RenderContext): Fragment {
  if (mixins.length === 0) return html`<span class="muted">none</span>`;
  return html`<ul>${mixins.map((id) => {
    const mixin = ctx.lookup.mixin(id);
    const label = html`${mixin?.title ?? termOf(id)} <code>${id}</code>`;
    return html`<li>${mixin?.location ? link(mixin.location, label) : label}</li>`;
  })}</ul>`;
}

function row(label: string, value: Fragment): SafeHtml {
  return html`<dt>${label}</dt><dd>${value}</dd>\n`;
}

function attributeTable(attributes: Record<string, AttributeValue>): SafeHtml {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return html`<p class="muted">No attributes.</p>`;
  return html`<table>
<thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr></thead>
<tbody>
${names.map((name) => html`<tr><td><code>${name}</code></td><td>${showValue(attributes[name])}</td></tr>\n`)}</tbody>
</table>`;
}

function linksTable(links: Entity[], ctx: RenderContext): SafeHtml {
  if (links.length === 0) return html`<p class="muted">No links.</p>`;
  return html`<table>
<thead><tr><th scope="col">Link</th><th scope="col">Kind</th><th scope="col">Title</th><th scope="col">Target</th><th scope="col">State</th></tr></thead>
<tbody>
${links.map((l) => {
  const state = stateAttribute(l);
  return html`<tr><td>${entityLink(l, ctx)}</td><td>${categoryRef(l.kind)}</td><td>${l.title}</td><td>${l.target !== undefined && endLink(l.target, ctx)}${l.targetKind && html` <span class="muted">(${categoryRef(l.targetKind)})</span>`}</td><td>${state && showValue(l.attributes[state])}</td></tr>\n`;
})}</tbody>
</table>`;
}

/** One form field for an action parameter: a `<select>` for enumerations and booleans, else an input. */
function parameterField(name: string, definition: AttributeDefinition): SafeHtml {
  const values = definition.pattern?.['enum'];
  const dflt = definition.default === undefined ? undefined : attributeText(definition.default);
  const required = definition.required ? html` required` : '';
  const choices = Array.isArray(values) ? values.map((v) => String(v)) : definition.type === 'boolean' ? ['true', 'false'] : undefined;
  let field: SafeHtml;
  if (choices) {
    // An empty choice lets an optional parameter without default be left out.
    const empty = dflt === undefined && !definition.required ? html`<option value="" selected>(none)</option>` : '';
    field = html`<select name="${name}"${required}>${empty}${choices.map((c) => html`<option value="${c}"${c === dflt ? html` selected` : ''}>${c}</option>`)}</select>`;
  } else {
    const type = definition.type === 'number' ? html`type="number" step="any"` : html`type="text"`;
    field = html`<input ${type} name="${name}"${dflt !== undefined ? html` value="${dflt}"` : ''}${required}>`;
  }
  return html`<label>${name}${definition.required ? ' (required)' : ''} ${field}${definition.description && html` <span class="muted">${definition.description}</span>`}</label>\n`;
}

/** The form that triggers one action on an entity; the server answers its POST with 303 to the entity. */
export function actionForm(entity: Entity, actionId: string, ctx: RenderContext): SafeHtml {
  const action = ctx.lookup.action(actionId);
  const term = termOf(actionId);
  const title = action?.title ?? term;
  // why a relative path: CSP allows `form-action 'self'`, and the public base URL may differ from the origin.
  const target = `${entity.location}?action=${encodeURIComponent(term)}`;
  const parameters = Object.entries(action?.attributes ?? {});
  return html`<form class="action" method="post" action="${target}" enctype="application/x-www-form-urlencoded">
<p><strong>${title}</strong> <span class="muted">${categoryRef(actionId)}</span></p>
${parameters.map(([name, definition]) => parameterField(name, definition))}<button type="submit">${title}</button>
</form>
`;
}

/** The page of one entity: members, attributes, links and action forms. */
export function entityPage(entity: Entity, links: Entity[], ctx: RenderContext): Rendered {
  const id = idOf(entity.location);
  const isLink = entity.source !== undefined;
  const rows: SafeHtml[] = [
    row('Id', html`<code>${id}</code>`),
    row('Location', link(absolute(ctx, entity.location), html`<code>${absolute(ctx, entity.location)}</code>`)),
    row('Kind', kindLink(entity.kind, ctx)),
    row('Mixins', mixinLinks(entity.mixins, ctx)),
    row('Title', entity.title ?? html`<span class="muted">none</span>`),
  ];
  if (entity.summary !== undefined) rows.push(row('Summary', entity.summary));
  if (isLink) {
    rows.push(row('Source', endLink(entity.source!, ctx)));
    rows.push(row('Target', html`${endLink(entity.target!, ctx)}${entity.targetKind && html` <span class="muted">(${categoryRef(entity.targetKind)})</span>`}`));
  }
  const actions = applicableActions(ctx.lookup, entity);
  const main = html`<h1>${entity.title ?? id} <span class="muted">(${termOf(entity.kind)})</span></h1>
<dl>
${rows}</dl>
<h2>Attributes</h2>
${attributeTable(entity.attributes)}
${
  !isLink &&
  html`<h2>Links</h2>
${linksTable(links, ctx)}
`
}<h2>Actions</h2>
${actions.length === 0 ? html`<p class="muted">No action applies now.</p>` : actions.map((a) => actionForm(entity, a, ctx))}`;
  return page({ title: entity.title ?? id, path: ctx.path, main });
}

function entityTable(entities: Entity[], ctx: RenderContext): SafeHtml {
  const withState = entities.some((e) => stateAttribute(e) !== undefined);
  const withEnds = entities.some((e) => e.source !== undefined);
  const rows = entities.map((e) => {
    const state = stateAttribute(e);
    return html`<tr><td>${entityLink(e, ctx)}</td><td>${categoryRef(e.kind)}</td><td>${e.title}</td>${withState && html`<td>${state && showValue(e.attributes[state])}</td>`}${withEnds && html`<td>${e.source !== undefined && html`${endLink(e.source, ctx)} → ${endLink(e.target!, ctx)}`}</td>`}</tr>\n`;
  });
  return html`<table>
<thead><tr><th scope="col">Id</th><th scope="col">Kind</th><th scope="col">Title</th>${withState && html`<th scope="col">State</th>`}${withEnds && html`<th scope="col">Source → target</th>`}</tr></thead>
<tbody>
${rows}</tbody>
</table>`;
}

/** The page of an entity collection, with a link to the next page when there is one. */
export function collectionPage(entities: Entity[], ctx: RenderContext): Rendered {
  const main = html`<h1>Collection <code>${ctx.path}</code></h1>
<p>${entities.length === 1 ? '1 entity' : `${entities.length} entities`} on this page.</p>
${entities.length === 0 ? html`<p class="muted">No entities.</p>` : entityTable(entities, ctx)}
${ctx.next !== undefined && html`<p>${link(ctx.next, 'Next page', { rel: 'next' })}</p>`}`;
  return page({ title: ctx.path, path: ctx.path, main });
}

/** The answer to a creation: links to what was created (and its inline links). */
export function createdPage(entities: Entity[], linksOf: (entity: Entity) => Entity[], ctx: RenderContext): Rendered {
  const items = entities.map((e) => {
    const links = linksOf(e);
    return html`<li>${entityLink(e, ctx)} ${categoryRef(e.kind)}${e.title !== undefined && html` — ${e.title}`}${links.length > 0 && html`<ul>${links.map((l) => html`<li>link ${entityLink(l, ctx)} ${categoryRef(l.kind)}</li>`)}</ul>`}</li>\n`;
  });
  const main = html`<h1>Created</h1>
<p>${entities.length === 1 ? '1 entity was' : `${entities.length} entities were`} created:</p>
<ul>
${items}</ul>`;
  return page({ title: 'Created', path: ctx.path, main });
}
