/**
 * @module The benchmark's result table, in markdown, for the terminal and `test/bench/last-run.md`.
 */

/** One measured operation. */
export interface Row {
  operation: string;
  ocni: string;
  direct: string;
  /** ocni ÷ direct, or undefined when there is nothing to compare with. */
  ratio: number | undefined;
  /** The target in words, e.g. `≥ 0.5×`. */
  target: string;
  /** Whether the target was met; undefined when there is no target. */
  met: boolean | undefined;
  /** Entities stored when it was measured. */
  size?: number;
  /** Names the same measurement at every size, for the growth table. */
  key?: string;
  /** ocni's figure as a number (ms or req/s, as `unit` says), for the growth table. */
  value?: number;
  unit?: string;
}

/** The machine and store the run was made on. */
export interface Machine {
  cores: number;
  cpu: string;
  node: string;
  store: string;
  date: string;
}

/** Formats a number with thousands separators and `digits` decimals. */
export function num(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A ratio with two decimals, or two significant digits when it is that small (0.0042, not 0.00). */
export function ratio(value: number): string {
  return value >= 0.1 || value === 0 ? num(value, 2) : value.toPrecision(2);
}

/** How ocni's figure of each measurement changed from the smallest size to the largest. */
function growthTable(rows: Row[]): string[] {
  const sizes = [...new Set(rows.flatMap((r) => (r.size === undefined ? [] : [r.size])))].sort((a, b) => a - b);
  if (sizes.length < 2) return [];
  const [small, large] = [sizes[0]!, sizes[sizes.length - 1]!];
  const keys = [...new Set(rows.flatMap((r) => (r.key === undefined ? [] : [r.key])))];
  const lines = [`## Growth from ${num(small)} to ${num(large)} stored`, '', `| measurement | ocni at ${num(small)} | ocni at ${num(large)} | growth |`, '|---|---|---|---|'];
  for (const key of keys) {
    const a = rows.find((r) => r.key === key && r.size === small && r.value !== undefined);
    const b = rows.find((r) => r.key === key && r.size === large && r.value !== undefined);
    if (!a || !b) continue;
    lines.push(`| ${key} | ${num(a.value!, 1)} ${a.unit ?? ''} | ${num(b.value!, 1)} ${b.unit ?? ''} | ${ratio(b.value! / a.value!)}× |`);
  }
  return [...lines, ''];
}

/** The whole report: the table, the growth between sizes, the machine, and notes. */
export function renderReport(rows: Row[], machine: Machine, notes: string[]): string {
  const lines = [
    '# ocni benchmark',
    '',
    `${machine.date} · ${machine.cores} cores (${machine.cpu}) · Node ${machine.node} · store: ${machine.store}`,
    '',
    '| stored | operation | ocni | reference | ratio | target | met? |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.size === undefined ? '—' : num(r.size)} | ${r.operation} | ${r.ocni} | ${r.direct} | ${r.ratio === undefined ? '—' : `${ratio(r.ratio)}×`} | ${r.target} | ${r.met === undefined ? '—' : r.met ? 'yes' : '**no**'} |`,
    ),
    '',
    ...growthTable(rows),
    ...notes.map((n) => `- ${n}`),
    '',
  ];
  return lines.join('\n');
}
