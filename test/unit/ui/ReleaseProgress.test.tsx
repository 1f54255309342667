import { cleanup, render } from 'ink-testing-library';
import stripAnsi from 'strip-ansi';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReleaseNotice } from '../../../src/release/controller.js';
import { ReleaseProgress } from '../../../src/ui/ReleaseProgress.js';
import { foldReleaseEvent, initialReleaseState, plainReleaseLines, type ReleaseViewEvent, type ReleaseViewState } from '../../../src/ui/release-store.js';

afterEach(() => cleanup());

const ID = 'r-20261126T123215Z-ed41';
const notice = (event: string, message: string, step: number, canary: number): ReleaseViewEvent => ({
  type: 'notice',
  at: step * 1000,
  notice: { release: ID, event, message, step, weights: { canary, baseline: canary, prod: 100 - 2 * canary } } satisfies ReleaseNotice,
});

function stateOf(events: readonly ReleaseViewEvent[]): ReleaseViewState {
  return events.reduce(foldReleaseEvent, initialReleaseState());
}

const RUNNING = [
  notice('started', `release ${ID} of web: demo-web:2 against demo-web:1`, 0, 0),
  notice('step', 'step 1/3: canary 10% · baseline 10% · prod 80%', 1, 10),
  notice('progress', 'step 1/3: 40 s, analysed canary 150 / baseline 150 of 400', 1, 10),
  notice('verdict', 'judge: advance: step 1 passed', 1, 10),
  notice('step', 'step 2/3: canary 25% · baseline 25% · prod 50%', 2, 25),
];

describe('ReleaseProgress', () => {
  it('shows the release, the step’s weights as bars, the judge’s latest verdict and the transitions', () => {
    const { lastFrame } = render(<ReleaseProgress state={stateOf(RUNNING)} now={62_000} columns={100} />);
    expect(stripAnsi(lastFrame() ?? '').split('\n')).toEqual([
      `release ${ID} · step 2  1m02s`,
      'canary ███░░░░░░░ 25%  baseline ███░░░░░░░ 25%  prod █████░░░░░ 50%',
      'judge: advance: step 1 passed',
      `  release ${ID} of web: demo-web:2 against demo-web:1`,
      '  step 1/3: canary 10% · baseline 10% · prod 80%',
      '  step 2/3: canary 25% · baseline 25% · prod 50%',
    ]);
  });

  it('cuts lines at a narrow terminal instead of wrapping', () => {
    const { lastFrame } = render(<ReleaseProgress state={stateOf(RUNNING)} now={62_000} columns={40} />);
    const lines = stripAnsi(lastFrame() ?? '').split('\n');
    expect(lines.every((line) => line.length <= 40)).toBe(true);
    expect(lines).toHaveLength(6);
  });

  it('asks at a gate and answers with the key pressed', async () => {
    const answers: boolean[] = [];
    const asking = foldReleaseEvent(stateOf(RUNNING), { type: 'ask', at: 70_000, question: 'manual approval before promotion. Continue?', answer: (yes) => answers.push(yes) });
    const { lastFrame, stdin } = render(<ReleaseProgress state={asking} now={70_000} columns={100} />);
    expect(stripAnsi(lastFrame() ?? '')).toContain('? manual approval before promotion. Continue? [y/N]');
    await new Promise((resolve) => setTimeout(resolve, 20));
    stdin.write('y');
    await new Promise((resolve) => setTimeout(resolve, 20));
    stdin.write('n');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answers).toEqual([true, false]);
    expect(foldReleaseEvent(asking, { type: 'answered', at: 71_000 }).ask).toBeUndefined();
  });

  it('keeps escape sequences from reaching the terminal', () => {
    const state = stateOf([notice('warning', 'container said \u001b[2J\u001b]0;owned\u0007 hi', 1, 10)]);
    const { lastFrame } = render(<ReleaseProgress state={state} now={1000} columns={100} />);
    expect(lastFrame()).not.toContain('\u001b]0;');
    expect(lastFrame()).not.toContain('\u001b[2J');
    expect(plainReleaseLines(notice('warning', 'x \u001b[2J y', 1, 10))[0]).not.toContain('\u001b');
  });
});
