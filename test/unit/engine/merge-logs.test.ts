import { describe, expect, it } from 'vitest';
import { mergeServiceLogs } from '../../../src/engine/logs.js';

/** A stream that yields `texts` one by one, each after the previous one of `gate` resolved. */
function stream(texts: string[], closed: string[], name: string, gates: Array<Promise<void>>): AsyncIterable<{ text: string }> {
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (const [index, text] of texts.entries()) {
          await gates[index];
          yield { text };
        }
      } finally {
        closed.push(name);
      }
    },
  };
}

describe('mergeServiceLogs', () => {
  it('yields each line as it arrives, tagged with its service, until every stream ends', async () => {
    const release: Array<() => void> = [];
    const gates = Array.from({ length: 4 }, () => new Promise<void>((resolve) => release.push(resolve)));
    const closed: string[] = [];
    // web's lines wait for gates 1 and 3, db's for 0 and 2: arrival order interleaves them.
    const merged = mergeServiceLogs([
      { service: 'web', lines: stream(['w1', 'w2'], closed, 'web', [gates[1]!, gates[3]!]) },
      { service: 'db', lines: stream(['d1', 'd2'], closed, 'db', [gates[0]!, gates[2]!]) },
    ]);
    const seen: Array<{ service: string; text: string }> = [];
    const consumer = (async () => {
      for await (const line of merged) seen.push(line);
    })();
    for (const open of release) {
      open();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await consumer;
    expect(seen).toEqual([
      { service: 'db', text: 'd1' },
      { service: 'web', text: 'w1' },
      { service: 'db', text: 'd2' },
      { service: 'web', text: 'w2' },
    ]);
    expect(closed.sort()).toEqual(['db', 'web']);
  });

  it('closes every stream when the consumer stops early', async () => {
    const closed: string[] = [];
    // db's first line comes later (an engine stream ends when the command's signal aborts it).
    const later = new Promise<void>((resolve) => setTimeout(resolve, 20));
    const merged = mergeServiceLogs([
      { service: 'web', lines: stream(['w1'], closed, 'web', [Promise.resolve()]) },
      { service: 'db', lines: stream(['d1', 'd2'], closed, 'db', [later, later]) },
    ]);
    for await (const line of merged) {
      expect(line).toEqual({ service: 'web', text: 'w1' });
      break;
    }
    // Stopping returns every stream: db is closed too, not left open behind the consumer.
    expect(closed.sort()).toEqual(['db', 'web']);
  });
});
