import { describe, expect, it } from 'vitest';
import {
  type CategoryLine,
  type LinkLine,
  TextParseError,
  parseAttributeLine,
  parseCategoryLine,
  parseLinkLine,
  parseLocationLine,
  parseTextBody,
  renderAttributeLine,
  renderCategoryLine,
  renderHeaderLines,
  renderLinkLine,
  renderLocationLine,
  splitHeaderValues,
} from './header-lines.ts';

const INFRA = 'http://schemas.ogf.org/occi/infrastructure#';
const COMPUTE_ACTION = 'http://schemas.ogf.org/occi/infrastructure/compute/action#';

/** Runs `fn`, expecting a TextParseError; returns it so the test can check message and line. */
function parseError(fn: () => unknown): TextParseError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TextParseError);
    return error as TextParseError;
  }
  throw new Error('expected a TextParseError, but parsing succeeded');
}

describe('splitHeaderValues', () => {
  it('splits on top-level commas and trims', () => {
    expect(splitHeaderValues(' /compute/1 ,/compute/2, /compute/3 ')).toEqual(['/compute/1', '/compute/2', '/compute/3']);
  });

  it('never splits inside quotes, including after an escaped quote', () => {
    const value = 'a; title="x, y"; scheme="s#", b; title="say \\"hi, there\\""; scheme="t#"';
    expect(splitHeaderValues(value)).toEqual(['a; title="x, y"; scheme="s#"', 'b; title="say \\"hi, there\\""; scheme="t#"']);
  });

  it('keeps commas inside a <...> that opens an element (URIs may contain commas)', () => {
    expect(splitHeaderValues('</a,b>; rel="x#y", </c>; rel="x#z"')).toEqual(['</a,b>; rel="x#y"', '</c>; rel="x#z"']);
  });

  it('drops empty elements, as the #rule allows (GFD.185 renders "class=\\"kind\\";,")', () => {
    expect(splitHeaderValues('a;, ,b,')).toEqual(['a;', 'b']);
    expect(splitHeaderValues('   ')).toEqual([]);
  });

  it('leaves an unterminated quote to the structure parser instead of throwing', () => {
    expect(splitHeaderValues('a="x, y, b')).toEqual(['a="x, y, b']);
  });
});

describe('Category lines', () => {
  const computeText =
    `compute; scheme="${INFRA}"; class="kind"; title="Compute Resource"; ` +
    `rel="http://schemas.ogf.org/occi/core#resource"; location="/compute/"; ` +
    `attributes="occi.compute.architecture occi.compute.cores occi.compute.hostname occi.compute.state{immutable required}"; ` +
    `actions="${COMPUTE_ACTION}start ${COMPUTE_ACTION}stop"`;
  const compute: CategoryLine = {
    term: 'compute',
    scheme: INFRA,
    class: 'kind',
    title: 'Compute Resource',
    rel: ['http://schemas.ogf.org/occi/core#resource'],
    location: '/compute/',
    attributes: [
      { name: 'occi.compute.architecture', required: false, immutable: false },
      { name: 'occi.compute.cores', required: false, immutable: false },
      { name: 'occi.compute.hostname', required: false, immutable: false },
      { name: 'occi.compute.state', required: true, immutable: true },
    ],
    actions: [`${COMPUTE_ACTION}start`, `${COMPUTE_ACTION}stop`],
  };

  it('parses the compute kind with attributes and actions', () => {
    expect(parseCategoryLine(computeText)).toEqual(compute);
  });

  it('renders the compute kind exactly, in GFD.229 parameter order', () => {
    expect(renderCategoryLine(compute)).toBe(computeText);
  });

  it('renders GFD.185 parameter order (actions before location) in the canonical order', () => {
    const gfd185 =
      `compute; scheme="${INFRA}"; class="kind"; title="Compute Resource"; rel="http://schemas.ogf.org/occi/core#resource"; ` +
      `attributes="occi.compute.architecture occi.compute.cores occi.compute.hostname occi.compute.state{immutable required}"; ` +
      `actions="${COMPUTE_ACTION}start ${COMPUTE_ACTION}stop"; location="/compute/"`;
    expect(renderCategoryLine(parseCategoryLine(gfd185))).toBe(computeText);
  });

  it('parses a user mixin with rel and location (GFD.185 "Adding a Mixin")', () => {
    const text = 'my_stuff; scheme="http://example.com/occi/my_stuff#"; class="mixin"; rel="http://example.com/occi/something_else#mixin"; location="/my_stuff/"';
    const mixin = parseCategoryLine(text);
    expect(mixin).toEqual({
      term: 'my_stuff',
      scheme: 'http://example.com/occi/my_stuff#',
      class: 'mixin',
      rel: ['http://example.com/occi/something_else#mixin'],
      location: '/my_stuff/',
    });
    expect(renderCategoryLine(mixin)).toBe(text);
  });

  it('parses and renders an action category with a parameter attribute', () => {
    const text = `start; scheme="${COMPUTE_ACTION}"; class="action"; title="Start Compute Resource"; attributes="method"`;
    const action = parseCategoryLine(text);
    expect(action).toEqual({
      term: 'start',
      scheme: COMPUTE_ACTION,
      class: 'action',
      title: 'Start Compute Resource',
      attributes: [{ name: 'method', required: false, immutable: false }],
    });
    expect(renderCategoryLine(action)).toBe(text);
  });

  it('reads the attribute properties in any order and renders them as {immutable required}', () => {
    const text = `storage; scheme="${INFRA}"; class="kind"; attributes="a.b{required} c.d{immutable} e.f{required immutable} g.h{immutable required}"`;
    const parsed = parseCategoryLine(text);
    expect(parsed.attributes).toEqual([
      { name: 'a.b', required: true, immutable: false },
      { name: 'c.d', required: false, immutable: true },
      { name: 'e.f', required: true, immutable: true },
      { name: 'g.h', required: true, immutable: true },
    ]);
    expect(renderCategoryLine(parsed)).toBe(`storage; scheme="${INFRA}"; class="kind"; attributes="a.b{required} c.d{immutable} e.f{immutable required} g.h{immutable required}"`);
  });

  it("accepts pyOCNI's comma lists and {immutable}{required} brace groups", () => {
    const parsed = parseCategoryLine(`x; scheme="${INFRA}"; class="kind"; rel="a#b,c#d"; attributes="x.y{immutable}{required},z"; actions="a#s,a#t"`);
    expect(parsed.rel).toEqual(['a#b', 'c#d']);
    expect(parsed.attributes).toEqual([
      { name: 'x.y', required: true, immutable: true },
      { name: 'z', required: false, immutable: false },
    ]);
    expect(parsed.actions).toEqual(['a#s', 'a#t']);
  });

  it('accepts a bare class, any parameter-name case, unknown parameters, extra spaces and a trailing ";"', () => {
    expect(parseCategoryLine(`  os_tpl.v-1 ;SCHEME="${INFRA}" ; Class=Mixin; foo="bar"; baz=1 ;`)).toEqual({
      term: 'os_tpl.v-1',
      scheme: INFRA,
      class: 'mixin',
    });
  });

  it('unescapes quoted titles and re-escapes them on render', () => {
    const text = `t; scheme="${INFRA}"; class="mixin"; title="a \\"quoted\\" back\\\\slash; with, separators"`;
    const parsed = parseCategoryLine(text);
    expect(parsed.title).toBe('a "quoted" back\\slash; with, separators');
    expect(renderCategoryLine(parsed)).toBe(text);
    expect(parseCategoryLine(renderCategoryLine(parsed))).toEqual(parsed);
  });

  it('renders control characters in a title as spaces, so no line can be injected', () => {
    const rendered = renderCategoryLine({ term: 't', scheme: INFRA, class: 'mixin', title: 'a\r\nX-OCCI-Attribute: b' });
    expect(rendered).toBe(`t; scheme="${INFRA}"; class="mixin"; title="a  X-OCCI-Attribute: b"`);
  });

  it('leaves out empty lists when rendering and reads empty lists as absent', () => {
    expect(renderCategoryLine({ term: 't', scheme: INFRA, class: 'kind', rel: [], attributes: [], actions: [] })).toBe(`t; scheme="${INFRA}"; class="kind"`);
    expect(parseCategoryLine(`t; scheme="${INFRA}"; class="kind"; rel=""; attributes=" "; actions=""`)).toEqual({
      term: 't',
      scheme: INFRA,
      class: 'kind',
    });
  });

  it('is stable through parse, render, parse', () => {
    for (const text of [computeText, `a; scheme="x#"; class=action; title=""; location=""`]) {
      const once = parseCategoryLine(text);
      expect(parseCategoryLine(renderCategoryLine(once))).toEqual(once);
    }
  });

  describe('errors', () => {
    it.each([
      ['missing scheme', 'compute; class="kind"', 'Category compute is missing scheme'],
      ['unquoted scheme', `compute; scheme=${INFRA}; class="kind"`, 'Category compute: scheme must be a quoted string'],
      ['scheme without #', 'compute; scheme="http://x/y"; class="kind"', `Category compute: scheme must end in '#' (got "http://x/y")`],
      ['missing class', `compute; scheme="${INFRA}"`, 'Category compute is missing class'],
      ['unknown class', `compute; scheme="${INFRA}"; class="resource"`, 'Category compute: class must be "kind", "mixin" or "action" (got "resource")'],
      ['bad term', `-compute; scheme="${INFRA}"; class="kind"`, `Category: invalid term "-compute" (a letter or digit, then letters, digits, '-', '_' or '.')`],
      ['term with a space', `com pute; scheme="${INFRA}"; class="kind"`, `Category: invalid term "com pute" (a letter or digit, then letters, digits, '-', '_' or '.')`],
      ['missing term', `; scheme="${INFRA}"; class="kind"`, 'Category is missing its term'],
      ['missing term before parameters', `scheme="${INFRA}"; class="kind"`, 'Category is missing its term'],
      ['unterminated quote', `compute; scheme="${INFRA}"; class="kind`, 'unterminated quoted string: "kind'],
      ['unterminated quote in a long title', `compute; scheme="${INFRA}"; class="kind"; title="${'x'.repeat(50)}`, `unterminated quoted string: "${'x'.repeat(39)}...`],
      ['parameter without =', `compute; scheme="${INFRA}"; class="kind"; title`, 'Category: expected a name=value parameter, got "title"'],
      ['text after a quoted value', `compute; scheme="${INFRA}"x; class="kind"`, 'Category: unexpected text after the quoted value of scheme: "x"'],
      ['repeated parameter', `compute; scheme="${INFRA}"; class="kind"; class="mixin"`, 'Category compute: parameter class is given 2 times'],
      [
        'unknown attribute property',
        `compute; scheme="${INFRA}"; class="kind"; attributes="a{mutable}"`,
        'Category compute: unknown property "mutable" of attribute a (expected immutable or required)',
      ],
      ['unterminated brace', `compute; scheme="${INFRA}"; class="kind"; attributes="a{immutable"`, "Category compute: unterminated '{' after attribute a"],
      ['bad attribute name', `compute; scheme="${INFRA}"; class="kind"; attributes="a..b"`, `Category compute: invalid attribute name "a..b" (dot-separated segments of letters, digits, '_' and '-')`],
    ])('%s', (_, text, message) => {
      const error = parseError(() => parseCategoryLine(text, { line: 7 }));
      expect(error.message).toBe(message);
      expect(error.line).toBe(7);
      expect(error.name).toBe('TextParseError');
    });

    it('reports line 1 when no line is given (a header value is one line)', () => {
      expect(parseError(() => parseCategoryLine('compute; class="kind"')).line).toBe(1);
    });
  });
});

describe('Link lines', () => {
  const storageLinkText =
    `</storage/disk1>; rel="${INFRA}storage"; self="/link/storagelink/l1"; ` +
    `category="${INFRA}storagelink http://example.com/occi/mixins#backup"; ` +
    `occi.core.id="urn:uuid:0c5a6f5e-0c7c-4c32-9d5e-a2f3d5b8f1e2"; occi.storagelink.deviceid="/dev/vdb"; ` +
    `occi.storagelink.mountpoint="/mnt/data"; occi.storagelink.state="active"; example.size=20; example.ratio=-0.5; example.shared=false`;
  const storageLink: LinkLine = {
    target: '/storage/disk1',
    rel: [`${INFRA}storage`],
    self: '/link/storagelink/l1',
    category: [`${INFRA}storagelink`, 'http://example.com/occi/mixins#backup'],
    attributes: {
      'occi.core.id': 'urn:uuid:0c5a6f5e-0c7c-4c32-9d5e-a2f3d5b8f1e2',
      'occi.storagelink.deviceid': '/dev/vdb',
      'occi.storagelink.mountpoint': '/mnt/data',
      'occi.storagelink.state': 'active',
      'example.size': 20,
      'example.ratio': -0.5,
      'example.shared': false,
    },
  };

  it("parses a resource's storage link with self, category and typed attributes", () => {
    expect(parseLinkLine(storageLinkText)).toEqual(storageLink);
  });

  it('renders the storage link exactly, attributes in record order', () => {
    expect(renderLinkLine(storageLink)).toBe(storageLinkText);
    expect(Object.keys(parseLinkLine(renderLinkLine(storageLink)).attributes)).toEqual(Object.keys(storageLink.attributes));
  });

  it('reads the GFD.185 network interface example (one parameter per folded line, trailing ";")', () => {
    const text =
      `</network/123>; rel="${INFRA}network"; self="/link/networkinterface/456"; category="${INFRA}networkinterface"; ` +
      'occi.networkinterface.interface="eth0"; occi.networkinterface.mac="00:11:22:33:44:55"; occi.networkinterface.state="active";';
    const link = parseLinkLine(text);
    expect(link).toEqual({
      target: '/network/123',
      rel: [`${INFRA}network`],
      self: '/link/networkinterface/456',
      category: [`${INFRA}networkinterface`],
      attributes: {
        'occi.networkinterface.interface': 'eth0',
        'occi.networkinterface.mac': '00:11:22:33:44:55',
        'occi.networkinterface.state': 'active',
      },
    });
    expect(renderLinkLine(link)).toBe(text.slice(0, -1));
  });

  it('parses and renders action links', () => {
    const text = `</compute/123?action=start>; rel="${COMPUTE_ACTION}start"`;
    const link = parseLinkLine(text);
    expect(link).toEqual({ target: '/compute/123?action=start', rel: [`${COMPUTE_ACTION}start`], attributes: {} });
    expect(renderLinkLine(link)).toBe(text);
  });

  it('keeps ";" and "," inside the <target>, and accepts bare rel/category and mixed-case parameter names', () => {
    const link = parseLinkLine(`</net;v=1/a,b>; REL=${INFRA}network; Category=${INFRA}networkinterface; x.y=up`);
    expect(link).toEqual({
      target: '/net;v=1/a,b',
      rel: [`${INFRA}network`],
      category: [`${INFRA}networkinterface`],
      attributes: { 'x.y': 'up' },
    });
    expect(splitHeaderValues(`${renderLinkLine(link)}, </c>; rel="a#b"`)).toHaveLength(2);
  });

  it('is stable through parse, render, parse', () => {
    const once = parseLinkLine(storageLinkText);
    expect(parseLinkLine(renderLinkLine(once))).toEqual(once);
  });

  describe('errors', () => {
    it.each([
      ['target without <>', `/storage/1; rel="${INFRA}storage"`, 'Link: the target must be enclosed in <...> (got "/storage/1")'],
      ['empty target', `<>; rel="${INFRA}storage"`, 'Link: the target <> is empty'],
      ['missing rel', '</storage/1>; self="/link/1"', 'Link </storage/1> is missing rel'],
      ['unterminated <', `</storage/1; rel="${INFRA}storage"`, "unterminated '<' (no '>' after character 1)"],
      ['unterminated quote', '</storage/1>; rel="x#storage', 'unterminated quoted string: "x#storage'],
      ['bad attribute name', `</storage/1>; rel="${INFRA}storage"; title*=x`, `Link </storage/1>: invalid attribute name "title*" (dot-separated segments of letters, digits, '_' and '-')`],
      ['bare word value', `</storage/1>; rel="${INFRA}storage"; a.b=x+y`, 'attribute a.b: "x+y" is not a quoted string, a number, true or false (quote string values)'],
      ['repeated attribute', `</s/1>; rel="${INFRA}storage"; a.b=1; a.b=2`, 'Link </s/1>: attribute a.b is given more than once'],
      ['repeated self', `</s/1>; rel="${INFRA}storage"; self="/a"; SELF="/b"`, 'Link </s/1>: parameter self is given 2 times'],
    ])('%s', (_, text, message) => {
      const error = parseError(() => parseLinkLine(text, { line: 3 }));
      expect(error.message).toBe(message);
      expect(error.line).toBe(3);
    });
  });
});

describe('X-OCCI-Attribute lines', () => {
  it.each([
    ['occi.compute.hostname="testserver"', 'occi.compute.hostname', 'testserver', 'occi.compute.hostname="testserver"'],
    ['occi.core.title="say \\"hi\\" to C:\\\\temp"', 'occi.core.title', 'say "hi" to C:\\temp', 'occi.core.title="say \\"hi\\" to C:\\\\temp"'],
    ['occi.core.summary=""', 'occi.core.summary', '', 'occi.core.summary=""'],
    ['occi.compute.cores=2', 'occi.compute.cores', 2, 'occi.compute.cores=2'],
    ['occi.compute.speed=2.66', 'occi.compute.speed', 2.66, 'occi.compute.speed=2.66'],
    ['occi.compute.memory=2.0', 'occi.compute.memory', 2, 'occi.compute.memory=2'],
    ['x.offset=-0.25', 'x.offset', -0.25, 'x.offset=-0.25'],
    ['x.delta=-17', 'x.delta', -17, 'x.delta=-17'],
    ['x.half=.5', 'x.half', 0.5, 'x.half=0.5'],
    ['x.on=true', 'x.on', true, 'x.on=true'],
    ['x.off=false', 'x.off', false, 'x.off=false'],
    ['x.quoted_bool="true"', 'x.quoted_bool', 'true', 'x.quoted_bool="true"'],
    ['x.quoted_num="2"', 'x.quoted_num', '2', 'x.quoted_num="2"'],
    ['occi.compute.state=active', 'occi.compute.state', 'active', 'occi.compute.state="active"'],
    ['occi.compute.architecture=x86_64', 'occi.compute.architecture', 'x86_64', 'occi.compute.architecture="x86_64"'],
    ['occi.core.target=/network/1', 'occi.core.target', '/network/1', 'occi.core.target="/network/1"'],
    ['x.True=True', 'x.True', 'True', 'x.True="True"'],
    ['  occi.networkinterface.interface = "eth0";  ', 'occi.networkinterface.interface', 'eth0', 'occi.networkinterface.interface="eth0"'],
    ['occi.compute.cores=4;', 'occi.compute.cores', 4, 'occi.compute.cores=4'],
  ])('%s', (text, name, value, rendered) => {
    const parsed = parseAttributeLine(text);
    expect(parsed).toEqual({ name, value });
    expect(renderAttributeLine(parsed.name, parsed.value)).toBe(rendered);
    expect(parseAttributeLine(rendered)).toEqual(parsed);
  });

  it('renders numbers without exponent notation, so they read back as numbers', () => {
    expect(renderAttributeLine('a', 1e21)).toBe('a=1000000000000000000000');
    expect(renderAttributeLine('a', 1.5e-7)).toBe('a=0.00000015');
    expect(renderAttributeLine('a', -2.5e22)).toBe('a=-25000000000000000000000');
    for (const n of [1e21, 1.5e-7, -2.5e22, 123.456e-10]) {
      expect(parseAttributeLine(renderAttributeLine('a', n)).value).toBe(n);
    }
  });

  it('refuses to render NaN and Infinity, which have no text form', () => {
    expect(() => renderAttributeLine('a', Number.NaN)).toThrow(RangeError);
    expect(() => renderAttributeLine('a', Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  describe('errors', () => {
    it.each([
      ['missing =', 'occi.compute.cores 2', `X-OCCI-Attribute: missing '=' in "occi.compute.cores 2"`],
      ['bad name', 'occi.compute.cores!=2', `X-OCCI-Attribute: invalid attribute name "occi.compute.cores!" (dot-separated segments of letters, digits, '_' and '-')`],
      ['empty name', '=2', `X-OCCI-Attribute: invalid attribute name "" (dot-separated segments of letters, digits, '_' and '-')`],
      ['trailing dot in name', 'occi.=2', `X-OCCI-Attribute: invalid attribute name "occi." (dot-separated segments of letters, digits, '_' and '-')`],
      ['unterminated quote', 'occi.core.title="My VM', 'unterminated quoted string: "My VM'],
      ['escaped closing quote', 'occi.core.title="My VM\\"', 'unterminated quoted string: "My VM\\"'],
      ['bare words with a space', 'occi.core.title=My VM', 'attribute occi.core.title: "My VM" is not a quoted string, a number, true or false (quote string values)'],
      ['bare word with a comma-free separator', 'a=b;c', 'attribute a: "b;c" is not a quoted string, a number, true or false (quote string values)'],
      ['empty value', 'occi.compute.cores=', "attribute occi.compute.cores has no value after '='"],
      ['text after the quoted value', 'a="b"c', 'attribute a: unexpected text after the quoted value: "c"'],
    ])('%s', (_, text, message) => {
      const error = parseError(() => parseAttributeLine(text, { line: 12 }));
      expect(error.message).toBe(message);
      expect(error.line).toBe(12);
    });
  });
});

describe('X-OCCI-Location lines', () => {
  it.each([
    ['http://example.com/compute/123', 'http://example.com/compute/123'],
    ['  /compute/456  ', '/compute/456'],
    ['</compute/789>', '/compute/789'],
    ['< /compute/789 >', '/compute/789'],
  ])('%j reads as %j', (text, uri) => {
    expect(parseLocationLine(text)).toBe(uri);
    expect(renderLocationLine(uri)).toBe(uri);
    expect(parseLocationLine(renderLocationLine(uri))).toBe(uri);
  });

  it.each([
    ['empty', '   ', 'X-OCCI-Location: empty location'],
    ['empty brackets', '<>', 'X-OCCI-Location: empty location'],
    ['unbalanced', '</compute/1', `X-OCCI-Location: unbalanced '<' or '>' in "</compute/1"`],
    ['two URIs without a comma', '/compute/1 /compute/2', 'X-OCCI-Location: a location cannot contain whitespace: "/compute/1 /compute/2"'],
  ])('rejects %s', (_, text, message) => {
    const error = parseError(() => parseLocationLine(text, { line: 2 }));
    expect(error.message).toBe(message);
    expect(error.line).toBe(2);
  });
});

describe('text/plain bodies', () => {
  it('reads CRLF and LF lines, repeated lines, comma lists and mixed-case names, ignoring blank lines', () => {
    const body =
      `category: compute; scheme="${INFRA}"; class="kind"\r\n` +
      '\r\n' +
      'x-occi-attribute: occi.compute.cores=2, occi.compute.hostname="a, b"\n' +
      'X-OCCI-ATTRIBUTE: occi.compute.memory=4.0\r\n' +
      '   \n' +
      'X-Occi-Location: /compute/1, /compute/2\n' +
      'LINK: </network/1>; rel="x#network"\n' +
      'location: /compute/3\n' +
      'X-Custom: kept as written\n';
    expect(parseTextBody(body)).toEqual([
      { name: 'Category', value: `compute; scheme="${INFRA}"; class="kind"`, line: 1 },
      { name: 'X-OCCI-Attribute', value: 'occi.compute.cores=2', line: 3 },
      { name: 'X-OCCI-Attribute', value: 'occi.compute.hostname="a, b"', line: 3 },
      { name: 'X-OCCI-Attribute', value: 'occi.compute.memory=4.0', line: 4 },
      { name: 'X-OCCI-Location', value: '/compute/1', line: 6 },
      { name: 'X-OCCI-Location', value: '/compute/2', line: 6 },
      { name: 'Link', value: '</network/1>; rel="x#network"', line: 7 },
      { name: 'Location', value: '/compute/3', line: 8 },
      { name: 'X-Custom', value: 'kept as written', line: 9 },
    ]);
  });

  it('splits several comma-separated categories on one line (GFD.185 text/occi example)', () => {
    const body = `Category: compute; scheme="${INFRA}"; class="kind";, my_stuff; scheme="http://example.com/occi/my_stuff#"; class="mixin";`;
    const categories = parseTextBody(body).map((l) => parseCategoryLine(l.value, { line: l.line }));
    expect(categories.map((c) => `${c.scheme}${c.term} ${c.class}`)).toEqual([`${INFRA}compute kind`, 'http://example.com/occi/my_stuff#my_stuff mixin']);
  });

  it('joins folded continuation lines (GFD.185 wraps Category over several lines)', () => {
    const body = ['Category: storage;', `    scheme="${INFRA}";`, '\tclass="kind";', 'X-OCCI-Attribute: occi.storage.size=10'].join('\r\n');
    const lines = parseTextBody(body);
    expect(lines).toEqual([
      { name: 'Category', value: `storage; scheme="${INFRA}"; class="kind";`, line: 1 },
      { name: 'X-OCCI-Attribute', value: 'occi.storage.size=10', line: 4 },
    ]);
    expect(parseCategoryLine(lines[0]?.value ?? '')).toEqual({ term: 'storage', scheme: INFRA, class: 'kind' });
  });

  it('accepts pyOCNI\'s "Category :" with a space before the colon', () => {
    expect(parseTextBody('Category :a; scheme="s#"; class="kind"')).toEqual([{ name: 'Category', value: 'a; scheme="s#"; class="kind"', line: 1 }]);
  });

  it('reads an empty body as no lines', () => {
    expect(parseTextBody('')).toEqual([]);
    expect(parseTextBody('\r\n\n  \n')).toEqual([]);
  });

  describe('errors', () => {
    it('a line without ":" reports its 1-based line number', () => {
      const error = parseError(() => parseTextBody('Category: a; scheme="s#"; class="kind"\r\n\r\noops no colon here\r\n'));
      expect(error.message).toBe('expected "Name: value" but the line has no \':\': "oops no colon here"');
      expect(error.line).toBe(3);
    });

    it('an attribute written without its header name is not a header line', () => {
      const error = parseError(() => parseTextBody('X-OCCI-Attribute: a=1\nocci.core.title="a: b"'));
      expect(error.message).toBe('invalid header name "occi.core.title=\\"a"');
      expect(error.line).toBe(2);
    });

    it('an empty header name', () => {
      const error = parseError(() => parseTextBody('\n: value'));
      expect(error.message).toBe('invalid header name ""');
      expect(error.line).toBe(2);
    });

    it('a continuation line with nothing before it', () => {
      const error = parseError(() => parseTextBody('\n  Category: a; scheme="s#"; class="kind"'));
      expect(error.message).toBe('continuation line (starting with whitespace) with no header line before it');
      expect(error.line).toBe(2);
    });

    it('a structure error keeps the body line when the caller passes it on', () => {
      const lines = parseTextBody(`Category: a; scheme="s#"; class="kind"\nX-OCCI-Attribute: a=1, b="x\nX-OCCI-Attribute: c=3`);
      const error = parseError(() => lines.map((l) => (l.name === 'X-OCCI-Attribute' ? parseAttributeLine(l.value, { line: l.line }) : null)));
      expect(error.message).toBe('unterminated quoted string: "x');
      expect(error.line).toBe(2);
    });
  });
});

describe('renderHeaderLines', () => {
  const lines = [
    { name: 'Category', value: `compute; scheme="${INFRA}"; class="kind"` },
    { name: 'Category', value: `my_stuff; scheme="http://example.com/occi/my_stuff#"; class="mixin"; title="a, b"` },
    { name: 'X-OCCI-Attribute', value: renderAttributeLine('occi.compute.cores', 2) },
    { name: 'Link', value: renderLinkLine({ target: '/compute/1?action=stop', rel: [`${COMPUTE_ACTION}stop`], attributes: {} }) },
    { name: 'X-OCCI-Attribute', value: renderAttributeLine('occi.core.title', 'My "VM"') },
  ];

  it('renders a text/plain body, one LF-terminated line per structure, in order', () => {
    expect(renderHeaderLines(lines, 'body')).toBe(
      `Category: compute; scheme="${INFRA}"; class="kind"\n` +
        `Category: my_stuff; scheme="http://example.com/occi/my_stuff#"; class="mixin"; title="a, b"\n` +
        'X-OCCI-Attribute: occi.compute.cores=2\n' +
        `Link: </compute/1?action=stop>; rel="${COMPUTE_ACTION}stop"\n` +
        'X-OCCI-Attribute: occi.core.title="My \\"VM\\""\n',
    );
  });

  it('renders text/occi headers, one per name, values comma-joined', () => {
    expect(renderHeaderLines(lines, 'headers')).toEqual({
      Category: `compute; scheme="${INFRA}"; class="kind", my_stuff; scheme="http://example.com/occi/my_stuff#"; class="mixin"; title="a, b"`,
      'X-OCCI-Attribute': 'occi.compute.cores=2, occi.core.title="My \\"VM\\""',
      Link: `</compute/1?action=stop>; rel="${COMPUTE_ACTION}stop"`,
    });
  });

  it('renders nothing for no lines', () => {
    expect(renderHeaderLines([], 'body')).toBe('');
    expect(renderHeaderLines([], 'headers')).toEqual({});
  });

  it('reads back what it renders, in both modes', () => {
    const plain = parseTextBody(renderHeaderLines(lines, 'body')).map(({ name, value }) => ({ name, value }));
    expect(plain).toEqual(lines);
    const headers = renderHeaderLines(lines, 'headers');
    const fromHeaders = Object.entries(headers).flatMap(([name, value]) => splitHeaderValues(value).map((v) => ({ name, value: v })));
    expect(fromHeaders).toEqual([lines[0], lines[1], lines[2], lines[4], lines[3]]);
  });

  it('refuses values with line breaks and names that are not tokens', () => {
    expect(() => renderHeaderLines([{ name: 'X-OCCI-Attribute', value: 'a="x\r\nSet-Cookie: y"' }], 'headers')).toThrow(RangeError);
    expect(() => renderHeaderLines([{ name: 'Bad Name', value: 'x' }], 'body')).toThrow(RangeError);
  });
});

describe('a whole resource rendering (GFD.229 §5 example)', () => {
  const body = [
    `Category: compute; scheme="${INFRA}"; class="kind"`,
    `Link: </users/foo/compute/b9ff813e?action=start>; rel="${COMPUTE_ACTION}start"`,
    'X-OCCI-Attribute: occi.core.id="urn:uuid:b9ff813e-fee5-4a9d-b839-673f39746096"',
    'X-OCCI-Attribute: occi.core.title="My Dummy VM"',
    'X-OCCI-Attribute: occi.compute.state="inactive"',
    'X-OCCI-Attribute: occi.compute.speed=1.33',
    'X-OCCI-Attribute: occi.compute.cores=2',
    '',
  ].join('\r\n');

  it('parses into structures and renders back to the same text', () => {
    const lines = parseTextBody(body);
    const rendered = lines.map(({ name, value, line }) => {
      if (name === 'Category') return { name, value: renderCategoryLine(parseCategoryLine(value, { line })) };
      if (name === 'Link') return { name, value: renderLinkLine(parseLinkLine(value, { line })) };
      const attribute = parseAttributeLine(value, { line });
      return { name, value: renderAttributeLine(attribute.name, attribute.value) };
    });
    expect(renderHeaderLines(rendered, 'body')).toBe(body.replaceAll('\r\n', '\n'));
    expect(parseAttributeLine(lines[5]?.value ?? '')).toEqual({ name: 'occi.compute.speed', value: 1.33 });
  });
});
