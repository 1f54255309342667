/**
 * An insertion-ordered list with O(1) append and O(1) removal through the link that `push` returned.
 *
 * The proxy keeps its open requests in arrival order: the oldest one is the judge's watermark, and
 * the deadline sweep stops at the first request that is not due yet. A Map or Set gave that order,
 * but with one entry added and deleted per request, V8 rebuilt the hash table again and again.
 * Measured with the sampling heap profiler under load, every request's objects then outlived the
 * young-generation collections: about 4 KB per request moved to the old generation and waited there
 * for a full collection. (A replaced table keeps its entries and a pointer to the table that
 * replaced it, for the iterators still running over it, so one promoted table is enough to keep
 * every later request alive.) A link is unlinked when it is removed, so a dead link never keeps its
 * former neighbours alive.
 */
export class Link<T> {
  /** @internal */ prev: Link<T> | undefined = undefined;
  /** @internal */ next: Link<T> | undefined = undefined;

  constructor(
    readonly value: T,
    /** @internal The list it is in; undefined once removed. */
    public owner: LinkedList<T> | undefined,
  ) {}
}

export class LinkedList<T> {
  private head: Link<T> | undefined = undefined;
  private tail: Link<T> | undefined = undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Appends `value`; the link removes it again. */
  push(value: T): Link<T> {
    const link = new Link(value, this);
    link.prev = this.tail;
    if (this.tail) this.tail.next = link;
    else this.head = link;
    this.tail = link;
    this.count += 1;
    return link;
  }

  /** Removes the link's value. A link already removed, one of another list, or undefined is ignored. */
  remove(link: Link<T> | undefined): void {
    if (link === undefined || link.owner !== this) return;
    link.owner = undefined;
    if (link.prev) link.prev.next = link.next;
    else this.head = link.next;
    if (link.next) link.next.prev = link.prev;
    else this.tail = link.prev;
    link.prev = undefined;
    link.next = undefined;
    this.count -= 1;
  }

  /** The oldest link still in the list. */
  first(): Link<T> | undefined {
    return this.head;
  }

  /** The values in order, as an array (so the caller may remove while it goes through them). */
  toArray(): T[] {
    const values: T[] = [];
    for (let link = this.head; link !== undefined; link = link.next) values.push(link.value);
    return values;
  }
}
