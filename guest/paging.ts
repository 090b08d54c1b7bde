/**
 * Lists that serve both ways scripts use them. Awaited: one page, as an array of its items that
 * also carries the page's fields (`items`, `count`, `offset`, `limit`, `total`). Iterated with
 * `for await`: every item across all pages. Nothing is fetched until the list is awaited or
 * iterated, so a list that is never used can neither cost a call nor fail the script.
 */
import type { ListPage, PagedList } from '../types/apify.d.ts';
import { builtins } from './builtins.ts';

const { defineProperty } = builtins;

/** One page as the API gave it. */
export interface Page<T> {
  items: T[];
  offset: number;
  limit?: number;
  total?: number;
  desc?: boolean;
}

/** Fetches the page at `offset` of at most `limit` items (undefined: the API's default). */
export type FetchPage<T> = (offset: number, limit: number | undefined) => Promise<Page<T>>;

/** The page's items array, with the page's fields as non-enumerable properties (printing stays clean). */
function asListPage<T>(page: Page<T>): ListPage<T> {
  const items = page.items;
  const fields: Record<string, unknown> = {
    items,
    count: items.length,
    offset: page.offset,
    limit: page.limit ?? items.length,
  };
  if (page.total !== undefined) fields.total = page.total;
  if (page.desc !== undefined) fields.desc = page.desc;
  for (const name in fields) defineProperty(items, name, { value: fields[name], enumerable: false, writable: true, configurable: true });
  return items as ListPage<T>;
}

/** Every item from `offset` on, `pageSize` per call, stopping after `limit` items or at the last page. */
export async function* allItems<T>(fetchPage: FetchPage<T>, offset: number, limit: number | undefined, pageSize: number): AsyncGenerator<T, void, undefined> {
  let next = offset;
  let remaining = limit ?? Infinity;
  while (remaining > 0) {
    const want = Math.min(pageSize, remaining);
    const { items, limit: applied } = await fetchPage(next, want);
    for (let i = 0; i < items.length && i < remaining; i += 1) yield items[i] as T;
    next += items.length;
    remaining -= items.length;
    // A page shorter than asked is the last, unless the API lowered the limit (then it says so).
    if (items.length === 0 || items.length < Math.min(want, applied ?? want)) return;
  }
}

export function pagedList<T>(fetchPage: FetchPage<T>, offset: number, limit: number | undefined, pageSize: number): PagedList<T> {
  let first: Promise<ListPage<T>> | undefined;
  const page = () => (first ??= fetchPage(offset, limit).then(asListPage));
  return {
    then: (onFulfilled, onRejected) => page().then(onFulfilled, onRejected),
    catch: (onRejected) => page().catch(onRejected),
    finally: (onFinally) => page().finally(onFinally),
    [Symbol.asyncIterator]: () => allItems(fetchPage, offset, limit, pageSize),
    [Symbol.toStringTag]: 'PagedList',
  };
}
