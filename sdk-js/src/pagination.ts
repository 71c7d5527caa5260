import type { PageData } from "./types.js";

/**
 * One page of a keyset list: `data` and `nextCursor`. `for await (const item of page)` walks the
 * items of every page from this one on; `iterPages()` walks the pages.
 */
export class CursorPage<T> implements PageData<T>, AsyncIterable<T> {
  readonly data: T[];
  readonly nextCursor: string | null;
  readonly #fetch: (cursor: string) => Promise<CursorPage<T>>;

  constructor(page: PageData<T>, fetch: (cursor: string) => Promise<CursorPage<T>>) {
    this.data = page.data;
    this.nextCursor = page.nextCursor;
    this.#fetch = fetch;
  }

  hasNextPage(): boolean {
    return this.nextCursor !== null && this.nextCursor !== "";
  }

  /** The next page; throws on the last page (check `hasNextPage()`). */
  async nextPage(): Promise<CursorPage<T>> {
    if (!this.hasNextPage()) throw new Error("this is the last page: there is no next page");
    return this.#fetch(this.nextCursor as string);
  }

  /** This page and every page after it. */
  async *iterPages(): AsyncGenerator<CursorPage<T>, void, undefined> {
    let page: CursorPage<T> = this;
    yield page;
    while (page.hasNextPage()) {
      page = await page.nextPage();
      yield page;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.iterPages()) yield* page.data;
  }

  /** Every item of this page and the following ones, as an array. */
  async toArray(): Promise<T[]> {
    const items: T[] = [];
    for await (const item of this) items.push(item);
    return items;
  }
}
