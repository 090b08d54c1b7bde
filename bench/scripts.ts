/**
 * The scripts the benchmark runs: a trivial one, and a generated 2,000-line TypeScript program
 * (interfaces, classes, generics, type-only syntax for Deno to strip) that does a little work.
 */

export const TRIVIAL = 'console.log(1)';

const BLOCK_LINES = 10;

/** A TypeScript program of exactly `lines` lines (a multiple of 10, plus two) printing one number. */
export function generatedScript(lines = 2000): string {
  const blocks = Math.floor((lines - 2) / BLOCK_LINES);
  const out: string[] = ['const totals: number[] = [];'];
  for (let i = 0; i < blocks; i += 1) {
    out.push(
      `interface Item${i}<T> { id: number; label: string; value: T }`,
      `type Pair${i} = readonly [Item${i}<number>, Item${i}<string>];`,
      `class Box${i}<T> {`,
      `  constructor(private readonly item: Item${i}<T>) {}`,
      `  get id(): number { return this.item.id; }`,
      `}`,
      `function make${i}(n: number): Pair${i} {`,
      `  return [{ id: n, label: 'n${i}', value: n * 2 }, { id: n + 1, label: 's${i}', value: String(n) }] as const;`,
      `}`,
      `totals.push(new Box${i}(make${i}(${i})[0]).id satisfies number);`,
    );
  }
  out.push('console.log(totals.reduce((a, b) => a + b, 0));');
  while (out.length < lines) out.push('// padding');
  return out.join('\n');
}
