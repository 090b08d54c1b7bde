// Files in and out: reads the input file sales.csv, writes a summary file and returns its answer as data.
// Run: npx code-runtime --file sales.csv=examples/sales.csv --files-out out examples/files.ts
/// <reference path="../types/apify.d.ts" />
const [header, ...rows] = (await files.readText('sales.csv')).trim().split('\n');
const amountAt = header!.split(',').indexOf('amount');
const totals: Record<string, number> = {};
for (const row of rows) {
  const cells = row.split(',');
  totals[cells[0]!] = (totals[cells[0]!] ?? 0) + Number(cells[amountAt]);
}
const summary = Object.entries(totals).map(([region, total]) => `${region},${total}`).join('\n');
await files.write('totals.csv', `region,total\n${summary}\n`);
console.log(`${rows.length} rows, ${Object.keys(totals).length} regions; wrote totals.csv`);
export default totals;
