/** Small statistics and formatting for the benchmark's table. */

export interface Summary {
  median: number;
  p95: number;
  runs: number;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return { median: round(at(0.5)), p95: round(at(0.95)), runs: samples.length };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function mb(bytes: number): number {
  return round(bytes / (1024 * 1024));
}

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function table(rows: Array<Array<string | number>>): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => String(row[col] ?? '').length)));
  return rows
    .map((row) => row.map((cell, col) => (col === 0 ? String(cell).padEnd(widths[col]!) : String(cell).padStart(widths[col]!))).join('   '))
    .join('\n');
}
