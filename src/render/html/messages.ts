/**
 * @module The small HTML pages: the confirmation of a change with nothing to show, and problems.
 */
import type { ProblemView, RenderContext, Rendered } from '../renderer.ts';
import { html, link } from './escape.ts';
import { page } from './layout.ts';

/** The answer to a change with nothing to show: a confirmation and a way back. */
export function donePage(ctx: RenderContext): Rendered {
  const main = html`<h1>Done</h1>
<p>The request on <code>${ctx.path}</code> succeeded.</p>
<p>${link(ctx.path, 'Back')}</p>`;
  return page({ title: 'Done', path: ctx.path, main });
}

/** An error page: status, title, detail, code and the per-field errors with their pointers. */
export function problemPage(problem: ProblemView, ctx: Pick<RenderContext, 'baseUrl' | 'path'>): Rendered {
  const errors = problem.errors ?? [];
  const main = html`<div class="problem">
<h1>${problem.status} ${problem.title}</h1>
<p>${problem.detail}</p>
<p class="muted">Code <code>${problem.code}</code>${problem.type !== 'about:blank' && html`; type ${link(problem.type, html`<code>${problem.type}</code>`)}`}</p>
${
  errors.length > 0 &&
  html`<h2>Errors</h2>
<table>
<thead><tr><th scope="col">Where</th><th scope="col">Problem</th></tr></thead>
<tbody>
${errors.map((e) => html`<tr><td><code>${e.pointer}</code></td><td>${e.detail}</td></tr>\n`)}</tbody>
</table>`
}
</div>`;
  return page({ title: `${problem.status} ${problem.title}`, path: ctx.path, main });
}
