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

/** The whole report: the table, the machine, and notes. */
export function renderReport(rows: Row[], machine: Machine, notes: string[]): string {
  const lines = [
    '# ocni benchmark',
    '',
    `${machine.date} · ${machine.cores} cores (${machine.cpu}) · Node ${machine.node} · store: ${machine.store}`,
    '',
    '| operation | ocni | direct (nano) | ratio | target | met? |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.operation} | ${r.ocni} | ${r.direct} | ${r.ratio === undefined ? '—' : `${ratio(r.ratio)}×`} | ${r.target} | ${r.met === undefined ? '—' : r.met ? 'yes' : '**no**'} |`),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ];
  return lines.join('\n');
}
