/**
 * @module The renderer contract: one module per media type renders every kind of response the
 * server gives (category collections, one entity, entity collections, creations, problems) as a
 * media type, headers and a body. `render/index.ts` is the only place mapping media types to
 * renderers.
 */
import type { Category, Provider } from '../model/category.ts';
import type { CategoryLookup, Entity } from '../model/entity.ts';
import type { JsonProfile } from './occi-json/entities.ts';

/** A rendered response: the media type, extra headers, and the body (a string, or JSON to serialise). */
export interface Rendered {
  type: string;
  headers?: Record<string, string>;
  body: string | Record<string, unknown> | undefined;
}

/** Everything a renderer may need about the request. */
export interface RenderContext {
  /** Absolute base URL prefixed to paths, e.g. `http://localhost:8090`. */
  baseUrl: string;
  lookup: CategoryLookup;
  profile: JsonProfile;
  /** Kinds' providers, shown to operators only (absent for other callers). */
  provider?: (kindId: string) => Provider;
  /** The path of a kind's or mixin's published JSON Schema (linked from OCCI JSON renderings). */
  schemaUrl?: (categoryId: string) => string;
  /** The request path (HTML pages use it for titles and breadcrumbs). */
  path: string;
  /** The `next` page URL of a paged collection, if more follow. */
  next?: string;
  /** A link kind's collection: empty, it is GFD.226's `{"links": []}` rather than `{"resources": []}`. */
  linkCollection?: boolean;
}

/** A problem to render (RFC 9457 fields). */
export interface ProblemView {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { pointer: string; detail: string }[];
}

/** One media type's renderings. A renderer that cannot render something throws a domain error (e.g. uri-list for one entity: 400). */
export interface Renderer {
  /** The media type it produces. */
  readonly type: string;
  categories(categories: Category[], ctx: RenderContext): Rendered;
  entity(entity: Entity, links: Entity[], ctx: RenderContext): Rendered;
  collection(entities: Entity[], linksOf: (entity: Entity) => Entity[], ctx: RenderContext): Rendered;
  /** The answer to a creation (the route sets 201 and `Location`). */
  created(entities: Entity[], linksOf: (entity: Entity) => Entity[], ctx: RenderContext): Rendered;
  /** The answer to a change with nothing to show (e.g. text/occi's `OK`). */
  done(ctx: RenderContext): Rendered;
  problem(problem: ProblemView, ctx: Pick<RenderContext, 'baseUrl' | 'path'>): Rendered;
}
