/**
 * A dataset's shape guessed from a sample of its items (the API has no schema endpoint): each
 * top-level field with the JSON types seen for it, in order of first appearance, and whether some
 * sampled item had it null or lacked it.
 */
import type { DatasetField, FieldType } from '../types/apify.d.ts';

function typeOf(value: unknown): FieldType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean' ? type : 'object';
}

export function inferFields(items: readonly unknown[]): DatasetField[] {
  const fields = new Map<string, { types: Set<FieldType>; seen: number }>();
  const objects = items.filter((item): item is Record<string, unknown> => item !== null && typeof item === 'object' && !Array.isArray(item));
  for (const item of objects) {
    for (const [name, value] of Object.entries(item)) {
      const field = fields.get(name) ?? { types: new Set<FieldType>(), seen: 0 };
      field.types.add(typeOf(value));
      field.seen += 1;
      fields.set(name, field);
    }
  }
  return [...fields].map(([name, { types, seen }]) => ({
    name,
    types: [...types],
    nullable: types.has('null') || seen < objects.length,
  }));
}
