/**
 * @module The OCCI text line codec shared by `text/plain` (the structures as `Name: value` lines in
 * the body) and `text/occi` (the same structures as HTTP headers). GFD.185 §3.6 and GFD.229 §4 give
 * one ABNF for four structures, `Category`, `Link`, `X-OCCI-Attribute` and `X-OCCI-Location`; only
 * the transport differs, so both media types parse and render through these functions.
 *
 * Pure string functions: no HTTP, no model. The codec checks syntax only; whether a term, scheme or
 * type identifier names a known category is the registry's business.
 */

/** A value of `X-OCCI-Attribute` or of a link attribute: the three scalar types of the text ABNF. */
export type AttributeValue = string | number | boolean;

/** One text structure: a canonical header name and one (already comma-split) field value. */
export interface HeaderLine {
  name: string;
  value: string;
}

/** A structure read from a `text/plain` body, with the 1-based line it started on for error reports. */
export interface TextBodyLine extends HeaderLine {
  line: number;
}

/**
 * A syntax error in a text rendering. Callers map it to 400 Bad Request (GFD.185 §3.7: "parsing
 * errors"). `line` is the 1-based body line for `text/plain`; for a lone header value it is the
 * `line` option the caller passed (1 by default), since a header value is a single line.
 */
export class TextParseError extends Error {
  override readonly name = 'TextParseError';
  /** 1-based line number of the offending line. */
  readonly line: number;

  constructor(message: string, line = 1) {
    super(message);
    this.line = line;
  }
}

/** Options of the single-value parsers. */
export interface ParseOptions {
  /** The line to report in a {@link TextParseError}: the body line from {@link parseTextBody}; default 1. */
  line?: number;
}

/** A category, as the `Category` structure carries it (GFD.229 §4.1). */
export interface CategoryLine {
  term: string;
  scheme: string;
  class: 'kind' | 'mixin' | 'action';
  title?: string;
  /** Kind parent, or for a mixin its (first) `depends`; type identifiers. */
  rel?: string[];
  location?: string;
  attributes?: { name: string; required: boolean; immutable: boolean }[];
  /** Action type identifiers. */
  actions?: string[];
}

/** An OCCI link or action link, as the `Link` structure carries it (GFD.229 §4.2). */
export interface LinkLine {
  /** The target URI-reference (the part between `<` and `>`). */
  target: string;
  /** Target resource type identifiers, or the action type identifier of an action link. */
  rel: string[];
  /** The link instance's own location. */
  self?: string;
  /** Link kind and mixin type identifiers. */
  category?: string[];
  /** Link attributes, in rendering order. */
  attributes: Record<string, AttributeValue>;
}

// ---------------------------------------------------------------------------------------------
// Lexical helpers

/** OCCI 1.2 term (GFD.229 §4.1); 1.1's lowercase-only rule is a subset, so 1.1 clients still parse. */
const TERM = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Attribute names: dot-separated segments (`occi.compute.cores`); rejects empty segments. */
const ATTRIBUTE_NAME = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
/** int / float of the attribute ABNF (`*DIGIT "." *DIGIT`), at least one digit, optional sign. */
const NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)$/;
/** Unquoted enum values that pyOCNI and rOCCI clients send (`state=active`, `arch=x86_64`). */
const BARE_TOKEN = /^[A-Za-z0-9._:/-]+$/;
/** RFC 7230 `token`, the syntax of a header field name. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** One whitespace character, as `String.prototype.trim` counts it. */
const WHITESPACE = /^\s$/;

const CANONICAL_NAMES: ReadonlyMap<string, string> = new Map(['Category', 'Link', 'X-OCCI-Attribute', 'X-OCCI-Location', 'Location'].map((n) => [n.toLowerCase(), n]));

const CLASSES: readonly CategoryLine['class'][] = ['kind', 'mixin', 'action'];

/**
 * Reads the quoted-string that opens at `text[start]` (which must be `"`). RFC 7230 quoted-pair
 * unescapes any `\x` to `x`, so `\"` and `\\` are covered and odd escapes from clients still read.
 */
function readQuoted(text: string, start: number, line: number): { value: string; end: number } {
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      i++;
      if (i >= text.length) break;
      value += text[i];
    } else if (c === '"') {
      return { value, end: i + 1 };
    } else {
      value += c;
    }
  }
  throw unterminated(text, start, line);
}

/** The error for a `"` that is never closed, quoting where it opened (offsets differ per caller). */
function unterminated(text: string, open: number, line: number): TextParseError {
  const rest = text.slice(open);
  const shown = rest.length > 40 ? `${rest.slice(0, 40)}...` : rest;
  return new TextParseError(`unterminated quoted string: ${shown}`, line);
}

/**
 * Splits `text` on `separator` outside double-quoted strings and outside a `<...>` that opens a
 * segment (a Link target or a bracketed location may hold `,` and `;`, which URIs allow). With
 * `line` given, an unterminated quote or `<` throws; without it the rest becomes one segment, so
 * the structure parser reports the error with its own context. Segments are trimmed and empty ones
 * kept: callers drop them (RFC 7230 `#rule`, trailing `;` in the GFD examples) except where an
 * empty first segment means a missing term.
 */
function splitTopLevel(text: string, separator: string, line?: number): string[] {
  const parts: string[] = [];
  let start = 0;
  let i = 0;
  // Whether the segment so far is only whitespace, kept as a flag: re-trimming the segment at
  // every '<' would cost the square of a long run of spaces.
  let blank = true;
  const push = (end: number): void => {
    parts.push(text.slice(start, end).trim());
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      blank = false;
      const open = i;
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      if (i >= text.length) {
        if (line !== undefined) throw unterminated(text, open, line);
        break;
      }
      i++;
    } else if (c === '<' && blank) {
      blank = false;
      const close = text.indexOf('>', i);
      if (close < 0) {
        if (line !== undefined) throw new TextParseError(`unterminated '<' (no '>' after character ${i + 1})`, line);
        break;
      }
      i = close + 1;
    } else if (c === separator) {
      push(i);
      start = ++i;
      blank = true;
    } else {
      if (blank && !WHITESPACE.test(c)) blank = false;
      i++;
    }
  }
  push(text.length);
  return parts;
}

/** One `name=value` parameter of a Category or Link value. */
interface Param {
  /** The name as written (link attribute names keep their case). */
  name: string;
  /** The value text as written, quotes included, for link attributes that distinguish them. */
  raw: string;
  /** The value with quotes removed and escapes resolved. */
  value: string;
  quoted: boolean;
}

/**
 * Most parameters one Category or Link value may carry. Real ones carry a handful; the cap keeps
 * a megabyte of `; a1=1; a2=1 …` from costing a full parse per parameter before it is refused.
 */
export const MAX_PARAMETERS = 1024;

/** Splits a Category or Link value into its head (term or `<target>`) and `name=value` parameters. */
function splitParams(text: string, what: string, line: number): { head: string; params: Param[] } {
  const [head = '', ...rest] = splitTopLevel(text, ';', line);
  if (rest.length > MAX_PARAMETERS) throw new TextParseError(`${what}: more than ${MAX_PARAMETERS} parameters (${rest.length})`, line);
  const params = rest
    .filter((segment) => segment !== '')
    .map((segment): Param => {
      const eq = segment.indexOf('=');
      if (eq < 0) throw new TextParseError(`${what}: expected a name=value parameter, got "${segment}"`, line);
      const name = segment.slice(0, eq).trim();
      const raw = segment.slice(eq + 1).trim();
      if (!raw.startsWith('"')) return { name, raw, value: raw, quoted: false };
      const { value, end } = readQuoted(raw, 0, line);
      if (end !== raw.length) {
        throw new TextParseError(`${what}: unexpected text after the quoted value of ${name}: "${raw.slice(end)}"`, line);
      }
      return { name, raw, value, quoted: true };
    });
  return { head, params };
}

/** Finds a parameter by case-insensitive name; a repeat would make the value ambiguous, so it throws. */
function findParam(params: Param[], name: string, what: string, line: number): Param | undefined {
  const found = params.filter((p) => p.name.toLowerCase() === name);
  if (found.length > 1) throw new TextParseError(`${what}: parameter ${name} is given ${found.length} times`, line);
  return found[0];
}

/**
 * Splits a space-separated list parameter (`rel`, `actions`, `category`). Commas are accepted as
 * separators too because pyOCNI renders `rel="a,b"`; an empty list reads as absent.
 */
function splitList(value: string): string[] {
  return value.split(/[\s,]+/).filter((s) => s !== '');
}

/**
 * Renders a quoted-string (RFC 7230): `"` and `\` escaped. CR, LF and other controls cannot appear
 * in a quoted-string at all (not even escaped) and would split the line, or inject a header in
 * text/occi, so they become spaces: text renderings cannot carry them, JSON can.
 */
function quote(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it replaces
  return `"${value.replace(/[\\"]/g, '\\$&').replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, ' ')}"`;
}

/**
 * Renders a number in the attribute ABNF's `int | float` form. `String(n)` switches to exponent
 * notation outside 1e-7..1e21, which the ABNF lacks (it would read back as a string), so the
 * exponent is expanded. Infinity and NaN have no text form at all.
 */
function renderNumber(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`cannot render ${n} as an OCCI number`);
  const text = String(n);
  const e = text.indexOf('e');
  if (e < 0) return text;
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, e);
  const exponent = Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const point = (dot < 0 ? mantissa.length : dot) + exponent;
  let plain: string;
  if (point <= 0) plain = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) plain = digits + '0'.repeat(point - digits.length);
  else plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (negative ? '-' : '') + plain;
}

/**
 * `text` without surrounding whitespace and one trailing `;`. Written with `trim` rather than
 * `/\s*;\s*$/`: a backtracking engine retries that regex at every space of a long run, which is
 * quadratic in the run (a 1 MiB body of spaces stalled the server for minutes).
 */
function withoutTrailingSemicolon(text: string): string {
  const trimmed = text.trim();
  return trimmed.endsWith(';') ? trimmed.slice(0, -1).trimEnd() : trimmed;
}

/** Reads an attribute value: quoted string, number, boolean, or a bare enum token (read as a string). */
function parseAttributeValue(raw: string, name: string, line: number): AttributeValue {
  if (raw.startsWith('"')) {
    const { value, end } = readQuoted(raw, 0, line);
    // GFD.185's own examples end attribute lines with ';', so a lone trailing ';' is tolerated.
    const rest = raw.slice(end).trim();
    if (rest !== '' && rest !== ';') {
      throw new TextParseError(`attribute ${name}: unexpected text after the quoted value: "${rest}"`, line);
    }
    return value;
  }
  const bare = withoutTrailingSemicolon(raw);
  if (bare === '') throw new TextParseError(`attribute ${name} has no value after '='`, line);
  if (bare === 'true') return true;
  if (bare === 'false') return false;
  if (NUMBER.test(bare)) return Number(bare);
  if (BARE_TOKEN.test(bare)) return bare;
  throw new TextParseError(`attribute ${name}: ${JSON.stringify(bare)} is not a quoted string, a number, true or false (quote string values)`, line);
}

function renderAttributeValue(value: AttributeValue): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') return renderNumber(value);
  return value ? 'true' : 'false';
}

function checkAttributeName(name: string, what: string, line: number): void {
  if (!ATTRIBUTE_NAME.test(name)) {
    throw new TextParseError(`${what}: invalid attribute name ${JSON.stringify(name)} (dot-separated segments of letters, digits, '_' and '-')`, line);
  }
}

// ---------------------------------------------------------------------------------------------
// Header values and text/plain bodies

/**
 * Splits one header field value into its list elements (RFC 7230 `#rule`): OCCI allows several
 * categories, links, attributes or locations in one header, comma-separated (GFD.229 §6).
 * Commas inside double-quoted strings (with backslash escapes) and inside a `<...>` that opens an
 * element are not separators. Never throws: an unterminated quote leaves the rest as one element
 * for the structure parser to reject with a precise message.
 */
export function splitHeaderValues(value: string): string[] {
  return splitTopLevel(value, ',').filter((v) => v !== '');
}

/**
 * Reads a `text/plain` body (GFD.229 §5): one `Name: value` per line, CRLF or LF, blank lines
 * ignored. A line that starts with a space or tab continues the previous one (RFC 7230 obs-fold),
 * which is how GFD.185's own text/plain examples wrap long Category lines. Known names are
 * case-insensitive and come back canonical (`Category`, `Link`, `X-OCCI-Attribute`,
 * `X-OCCI-Location`, `Location`); other names come back as written for the caller to judge.
 * Each value is split with {@link splitHeaderValues}, so repeated lines and comma lists both work.
 *
 * @throws TextParseError on a line without `:`, an invalid header name, or a continuation line
 *   with nothing to continue.
 */
export function parseTextBody(body: string): TextBodyLine[] {
  const logical: { text: string; line: number }[] = [];
  body.split(/\r\n|\n|\r/).forEach((text, index) => {
    const line = index + 1;
    if (text.trim() === '') return;
    if (text.startsWith(' ') || text.startsWith('\t')) {
      const previous = logical[logical.length - 1];
      if (!previous) throw new TextParseError('continuation line (starting with whitespace) with no header line before it', line);
      previous.text += ` ${text.trim()}`;
      return;
    }
    logical.push({ text, line });
  });

  const result: TextBodyLine[] = [];
  for (const { text, line } of logical) {
    const colon = text.indexOf(':');
    if (colon < 0) throw new TextParseError(`expected "Name: value" but the line has no ':': ${JSON.stringify(text)}`, line);
    // pyOCNI writes "Category :" with a space before the colon; trimming accepts that.
    const written = text.slice(0, colon).trim();
    if (!HEADER_NAME.test(written)) throw new TextParseError(`invalid header name ${JSON.stringify(written)}`, line);
    const name = CANONICAL_NAMES.get(written.toLowerCase()) ?? written;
    for (const value of splitHeaderValues(text.slice(colon + 1))) result.push({ name, value, line });
  }
  return result;
}

/**
 * Renders text structures for either transport. `body` (text/plain): one `Name: value` line each,
 * LF-terminated, in order. `headers` (text/occi): one header per name with its values joined by
 * `, `, the form GFD.229 §6 recommends for interoperability; names keep first-seen order.
 *
 * @throws RangeError if a name is not an RFC 7230 token or a value contains CR or LF: either would
 *   let one structure forge another line or header.
 */
export function renderHeaderLines(lines: readonly HeaderLine[], mode: 'body'): string;
export function renderHeaderLines(lines: readonly HeaderLine[], mode: 'headers'): Record<string, string>;
export function renderHeaderLines(lines: readonly HeaderLine[], mode: 'body' | 'headers'): string | Record<string, string>;
export function renderHeaderLines(lines: readonly HeaderLine[], mode: 'body' | 'headers'): string | Record<string, string> {
  for (const { name, value } of lines) {
    if (!HEADER_NAME.test(name)) throw new RangeError(`invalid header name ${JSON.stringify(name)}`);
    if (/[\r\n]/.test(value)) throw new RangeError(`header value for ${name} contains a line break`);
  }
  if (mode === 'body') return lines.map(({ name, value }) => `${name}: ${value}\n`).join('');
  const grouped = new Map<string, string[]>();
  for (const { name, value } of lines) {
    const values = grouped.get(name);
    if (values) values.push(value);
    else grouped.set(name, [value]);
  }
  return Object.fromEntries([...grouped].map(([name, values]) => [name, values.join(', ')]));
}

// ---------------------------------------------------------------------------------------------
// Category

/** Reads the `attributes` parameter: `name`, `name{immutable}`, `name{immutable required}`, in any order. */
function parseAttributeList(text: string, what: string, line: number): NonNullable<CategoryLine['attributes']> {
  const result: NonNullable<CategoryLine['attributes']> = [];
  let i = 0;
  const skip = (pattern: RegExp): void => {
    while (i < text.length && pattern.test(text[i] ?? '')) i++;
  };
  for (;;) {
    // Commas as separators: pyOCNI renders `attributes="a{immutable},b"`.
    skip(/[\s,]/);
    if (i >= text.length) return result;
    const start = i;
    while (i < text.length && !/[\s,{}]/.test(text[i] ?? '')) i++;
    const name = text.slice(start, i);
    if (name === '') throw new TextParseError(`${what}: unexpected ${JSON.stringify(text[i])} in attributes`, line);
    checkAttributeName(name, what, line);
    const attribute = { name, required: false, immutable: false };
    skip(/[ \t]/);
    // pyOCNI writes `{immutable}{required}`: several brace groups are merged.
    while (text[i] === '{') {
      const close = text.indexOf('}', i);
      if (close < 0) throw new TextParseError(`${what}: unterminated '{' after attribute ${name}`, line);
      for (const property of splitList(text.slice(i + 1, close))) {
        if (property === 'immutable') attribute.immutable = true;
        else if (property === 'required') attribute.required = true;
        else {
          throw new TextParseError(`${what}: unknown property ${JSON.stringify(property)} of attribute ${name} (expected immutable or required)`, line);
        }
      }
      i = close + 1;
    }
    result.push(attribute);
  }
}

/**
 * Reads one `Category` value (GFD.229 §4.1): `term; scheme="…#"; class="kind|mixin|action"` then
 * optional `title`, `rel`, `location`, `attributes`, `actions`, in any order. Parameter names are
 * case-insensitive; unknown parameters are ignored (the Web Categories draft allows extensions);
 * `class` may be quoted or bare as the ABNF allows; `scheme` must be quoted as the ABNF requires.
 *
 * @param options.line reported in errors; pass the body line from {@link parseTextBody}.
 * @throws TextParseError on a missing or invalid term, a missing, unquoted or `#`-less scheme, a
 *   missing or unknown class, an unterminated quote, a malformed or repeated parameter, or a bad
 *   attribute list.
 */
export function parseCategoryLine(value: string, options: ParseOptions = {}): CategoryLine {
  const line = options.line ?? 1;
  const { head: term, params } = splitParams(value, 'Category', line);
  // `scheme="…"; class=…` with no term in front: say what is missing, not that "scheme=…" is a bad term.
  if (term === '' || term.includes('=')) throw new TextParseError('Category is missing its term', line);
  if (!TERM.test(term)) {
    throw new TextParseError(`Category: invalid term ${JSON.stringify(term)} (a letter or digit, then letters, digits, '-', '_' or '.')`, line);
  }
  const what = `Category ${term}`;
  const get = (name: string): Param | undefined => findParam(params, name, what, line);

  const scheme = get('scheme');
  if (!scheme) throw new TextParseError(`${what} is missing scheme`, line);
  if (!scheme.quoted) throw new TextParseError(`${what}: scheme must be a quoted string`, line);
  if (!scheme.value.endsWith('#')) throw new TextParseError(`${what}: scheme must end in '#' (got ${JSON.stringify(scheme.value)})`, line);

  const cls = get('class');
  if (!cls) throw new TextParseError(`${what} is missing class`, line);
  const found = CLASSES.find((c) => c === cls.value.toLowerCase());
  if (!found) throw new TextParseError(`${what}: class must be "kind", "mixin" or "action" (got ${JSON.stringify(cls.value)})`, line);

  const category: CategoryLine = { term, scheme: scheme.value, class: found };
  const title = get('title');
  if (title) category.title = title.value;
  const rel = splitList(get('rel')?.value ?? '');
  if (rel.length > 0) category.rel = rel;
  const location = get('location');
  if (location) category.location = location.value;
  const attributes = parseAttributeList(get('attributes')?.value ?? '', what, line);
  if (attributes.length > 0) category.attributes = attributes;
  const actions = splitList(get('actions')?.value ?? '');
  if (actions.length > 0) category.actions = actions;
  return category;
}

/** A category named in a request (entity creation, filter, action): `class` may be left to the registry. */
export interface CategoryReference {
  term: string;
  scheme: string;
  /** As written; absent when the line has none (snf-occi's clients leave it out). */
  class?: CategoryLine['class'];
}

/**
 * Reads a `Category` value that names an existing category, as snf-occi's users write them:
 * `Debian; scheme=http://schemas.ogf.org/occi/infrastructure#;` — an unquoted scheme, a trailing
 * `;`, no `class`. Lenient only where nothing is ambiguous: the term and a `#`-ending scheme are
 * still required, and a `class` given must be a known one. Category definitions (`POST /-/`)
 * keep the strict {@link parseCategoryLine}.
 *
 * @throws TextParseError on a missing or invalid term, a missing or `#`-less scheme, an unknown
 *   class, an unterminated quote or a repeated parameter.
 */
export function parseCategoryReference(value: string, options: ParseOptions = {}): CategoryReference {
  const line = options.line ?? 1;
  const { head: term, params } = splitParams(value, 'Category', line);
  if (term === '' || term.includes('=')) throw new TextParseError('Category is missing its term', line);
  if (!TERM.test(term)) throw new TextParseError(`Category: invalid term ${JSON.stringify(term)} (a letter or digit, then letters, digits, '-', '_' or '.')`, line);
  const what = `Category ${term}`;
  const scheme = findParam(params, 'scheme', what, line);
  if (!scheme || scheme.value === '') throw new TextParseError(`${what} is missing scheme`, line);
  if (!scheme.value.endsWith('#')) throw new TextParseError(`${what}: scheme must end in '#' (got ${JSON.stringify(scheme.value)})`, line);
  const reference: CategoryReference = { term, scheme: scheme.value };
  const cls = findParam(params, 'class', what, line);
  if (cls) {
    const found = CLASSES.find((c) => c === cls.value.toLowerCase());
    if (!found) throw new TextParseError(`${what}: class must be "kind", "mixin" or "action" (got ${JSON.stringify(cls.value)})`, line);
    reference.class = found;
  }
  return reference;
}

/**
 * Renders one `Category` value in GFD.229 §4.1 order: term, scheme, class, title, rel, location,
 * attributes, actions; every parameter value quoted. Attribute properties go in one brace pair,
 * space-separated (`{immutable required}`), as the ABNF's `attribute-def` defines. Empty lists
 * are left out. Does not validate: categories come from the model, which already did.
 */
export function renderCategoryLine(c: CategoryLine): string {
  const parts = [c.term, `scheme=${quote(c.scheme)}`, `class=${quote(c.class)}`];
  if (c.title !== undefined) parts.push(`title=${quote(c.title)}`);
  if (c.rel && c.rel.length > 0) parts.push(`rel=${quote(c.rel.join(' '))}`);
  if (c.location !== undefined) parts.push(`location=${quote(c.location)}`);
  if (c.attributes && c.attributes.length > 0) {
    const defs = c.attributes.map(({ name, immutable, required }) => {
      const properties = [...(immutable ? ['immutable'] : []), ...(required ? ['required'] : [])];
      return properties.length > 0 ? `${name}{${properties.join(' ')}}` : name;
    });
    parts.push(`attributes=${quote(defs.join(' '))}`);
  }
  if (c.actions && c.actions.length > 0) parts.push(`actions=${quote(c.actions.join(' '))}`);
  return parts.join('; ');
}

// ---------------------------------------------------------------------------------------------
// Link

/**
 * Reads one `Link` value (GFD.229 §4.2): `<target>; rel="…"` then optional `self`, `category` and
 * link attributes `name=value`. Action links are the same structure with only `rel`.
 * `rel`, `self` and `category` are case-insensitive and may be quoted or bare (GFD.229's ABNF
 * leaves `category` unquoted, GFD.185's example quotes it); every other parameter is a link
 * attribute, read like an `X-OCCI-Attribute` value.
 *
 * @param options.line reported in errors; pass the body line from {@link parseTextBody}.
 * @throws TextParseError on a target not in `<…>`, a missing rel, a bad attribute name or value,
 *   a repeated parameter, or an unterminated quote.
 */
export function parseLinkLine(value: string, options: ParseOptions = {}): LinkLine {
  const line = options.line ?? 1;
  const { head, params } = splitParams(value, 'Link', line);
  const target = /^<([^<>]*)>$/.exec(head)?.[1]?.trim();
  if (target === undefined) throw new TextParseError(`Link: the target must be enclosed in <...> (got ${JSON.stringify(head)})`, line);
  if (target === '') throw new TextParseError('Link: the target <> is empty', line);
  const what = `Link <${target}>`;
  const get = (name: string): Param | undefined => findParam(params, name, what, line);

  const rel = splitList(get('rel')?.value ?? '');
  if (rel.length === 0) throw new TextParseError(`${what} is missing rel`, line);
  const link: LinkLine = { target, rel, attributes: {} };
  const self = get('self');
  if (self) link.self = self.value;
  const category = splitList(get('category')?.value ?? '');
  if (category.length > 0) link.category = category;

  // A Map, not a search of a list: a line with many attributes must not cost their square.
  const attributes = new Map<string, AttributeValue>();
  for (const param of params) {
    if (['rel', 'self', 'category'].includes(param.name.toLowerCase())) continue;
    checkAttributeName(param.name, what, line);
    if (attributes.has(param.name)) {
      throw new TextParseError(`${what}: attribute ${param.name} is given more than once`, line);
    }
    attributes.set(param.name, parseAttributeValue(param.raw, param.name, line));
  }
  link.attributes = Object.fromEntries(attributes);
  return link;
}

/**
 * Renders one `Link` value: `<target>; rel="…"; self="…"; category="…"` then the attributes in
 * their record order, strings quoted, numbers and booleans bare (GFD.229 §4.2 with GFD.185's
 * quoted `category`, which the space-separated list needs).
 */
export function renderLinkLine(l: LinkLine): string {
  const parts = [`<${l.target}>`, `rel=${quote(l.rel.join(' '))}`];
  if (l.self !== undefined) parts.push(`self=${quote(l.self)}`);
  if (l.category && l.category.length > 0) parts.push(`category=${quote(l.category.join(' '))}`);
  for (const [name, value] of Object.entries(l.attributes)) parts.push(`${name}=${renderAttributeValue(value)}`);
  return parts.join('; ');
}

// ---------------------------------------------------------------------------------------------
// X-OCCI-Attribute

/**
 * Reads one `X-OCCI-Attribute` value (GFD.229 §4.3): `name=value` where value is a quoted string,
 * an int or float (`-` allowed; `2`, `2.5`, `.5`), or `true`/`false`. A bare token of
 * `[A-Za-z0-9._:/-]` is read as a string, because pyOCNI and rOCCI clients send enum values
 * unquoted (`occi.compute.state=active`) and GFD.185 itself renders `hostname=foobar`. One trailing
 * `;` is tolerated, as in GFD.185's examples. Numbers become JS numbers, so `2.0` reads as `2`.
 *
 * @param options.line reported in errors; pass the body line from {@link parseTextBody}.
 * @throws TextParseError on a missing `=`, an invalid name, an unterminated quote, or a bare value
 *   that is neither a number, a boolean nor a plain token.
 */
export function parseAttributeLine(value: string, options: ParseOptions = {}): { name: string; value: AttributeValue } {
  const line = options.line ?? 1;
  const eq = value.indexOf('=');
  if (eq < 0) throw new TextParseError(`X-OCCI-Attribute: missing '=' in ${JSON.stringify(value.trim())}`, line);
  const name = value.slice(0, eq).trim();
  checkAttributeName(name, 'X-OCCI-Attribute', line);
  return { name, value: parseAttributeValue(value.slice(eq + 1).trim(), name, line) };
}

/**
 * Renders one `X-OCCI-Attribute` value: strings always quoted (so an enum never reads back as a
 * number or boolean), numbers in plain decimal, booleans as `true`/`false`.
 *
 * @throws RangeError for NaN or an infinite number, which the text ABNF cannot express.
 */
export function renderAttributeLine(name: string, value: AttributeValue): string {
  return `${name}=${renderAttributeValue(value)}`;
}

// ---------------------------------------------------------------------------------------------
// X-OCCI-Location / Location

/**
 * Reads one `X-OCCI-Location` (or HTTP `Location`) value (GFD.229 §4.4): a URI-reference, with
 * surrounding whitespace and optional `<…>` removed (some clients bracket it like a Link target).
 *
 * @param options.line reported in errors; pass the body line from {@link parseTextBody}.
 * @throws TextParseError if it is empty, has an unbalanced `<`/`>`, or contains whitespace (a
 *   URI-reference cannot; usually two locations missing their comma).
 */
export function parseLocationLine(value: string, options: ParseOptions = {}): string {
  const line = options.line ?? 1;
  let uri = value.trim();
  if (uri.startsWith('<') || uri.endsWith('>')) {
    const inner = /^<([^<>]*)>$/.exec(uri)?.[1];
    if (inner === undefined) throw new TextParseError(`X-OCCI-Location: unbalanced '<' or '>' in ${JSON.stringify(uri)}`, line);
    uri = inner.trim();
  }
  if (uri === '') throw new TextParseError('X-OCCI-Location: empty location', line);
  if (/\s/.test(uri)) throw new TextParseError(`X-OCCI-Location: a location cannot contain whitespace: ${JSON.stringify(uri)}`, line);
  return uri;
}

/** Renders one location value: the bare URI-reference, as in GFD.185's and GFD.229's examples. */
export function renderLocationLine(uri: string): string {
  return uri;
}
