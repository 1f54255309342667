import { describe, expect, it } from 'vitest';
import { LinkedList, type Link } from '../../../src/proxy/linked-list.js';

describe('the linked list of open requests', () => {
  it('keeps insertion order through removals at the head, the tail and the middle', () => {
    const list = new LinkedList<string>();
    const links = ['a', 'b', 'c', 'd', 'e'].map((value) => list.push(value));
    expect(list.toArray()).toEqual(['a', 'b', 'c', 'd', 'e']);
    list.remove(links[2]);
    expect(list.toArray()).toEqual(['a', 'b', 'd', 'e']);
    list.remove(links[0]);
    expect(list.first()?.value).toBe('b');
    list.remove(links[4]);
    expect(list.toArray()).toEqual(['b', 'd']);
    expect(list.size).toBe(2);
    list.push('f');
    expect(list.toArray()).toEqual(['b', 'd', 'f']);
  });

  it('ignores a link removed twice, or none, and never lets a removed link count again', () => {
    const list = new LinkedList<number>();
    const one = list.push(1);
    const two = list.push(2);
    list.remove(one);
    list.remove(one);
    list.remove(undefined);
    expect(list.size).toBe(1);
    expect(list.toArray()).toEqual([2]);
    list.remove(two);
    expect(list.size).toBe(0);
    expect(list.first()).toBeUndefined();
    expect(list.toArray()).toEqual([]);
    // Emptied, it works like a new one.
    list.push(3);
    expect(list.first()?.value).toBe(3);
  });

  it("ignores a link of another list (it never touches this one's head, tail or size)", () => {
    const list = new LinkedList<string>();
    const other = new LinkedList<string>();
    list.push('a');
    const stranger = other.push('x');
    list.remove(stranger);
    expect(list.toArray()).toEqual(['a']);
    expect(list.size).toBe(1);
    expect(other.toArray()).toEqual(['x']);
  });

  it('unlinks a removed link, so a dead one keeps no neighbour reachable', () => {
    const list = new LinkedList<string>();
    const links: Link<string>[] = ['a', 'b', 'c'].map((value) => list.push(value));
    list.remove(links[1]!);
    const removed = links[1] as unknown as { prev: unknown; next: unknown };
    expect(removed.prev).toBeUndefined();
    expect(removed.next).toBeUndefined();
  });

  it('lets the caller remove values while it goes through a snapshot (a connection closing)', () => {
    const list = new LinkedList<number>();
    const links = new Map<number, Link<number>>();
    for (let value = 0; value < 5; value += 1) links.set(value, list.push(value));
    const seen: number[] = [];
    for (const value of list.toArray()) {
      seen.push(value);
      list.remove(links.get(value));
      list.remove(links.get(value + 1));
    }
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(list.size).toBe(0);
  });

  it('pops due entries from the head in order (the deadline sweep)', () => {
    const list = new LinkedList<{ due: number }>();
    for (const due of [1, 2, 3, 10, 11]) list.push({ due });
    const expired: number[] = [];
    for (let head = list.first(); head !== undefined && head.value.due <= 3; head = list.first()) {
      list.remove(head);
      expired.push(head.value.due);
    }
    expect(expired).toEqual([1, 2, 3]);
    expect(list.toArray().map((entry) => entry.due)).toEqual([10, 11]);
  });
});
