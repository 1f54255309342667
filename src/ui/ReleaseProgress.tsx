/**
 * The live view of `envctl release` (on stderr), a pure function of the folded state:
 *
 *   release r-20261126T123215Z-ed41 · step 2                                    1m52s
 *   canary ███░░░░░░░ 25%  baseline ███░░░░░░░ 25%  prod █████░░░░░ 50%
 *   ● step 2/3: 21 s, analysed canary 139 / baseline 139 of 400
 *   judge: advance: step 1 passed: bad max L 0 < 7.31, …
 *     12:33:48 step 2/3: canary 25% · baseline 25% · prod 50%
 *   ? release r-…: manual approval before promotion. Continue? [y/N]
 *
 * At a gate it asks (y approves, n / Enter / Esc aborts): the only key input it takes.
 */
import { Box, Text, useInput } from 'ink';
import type { ReactNode } from 'react';
import type { Arm } from '../proxy/types.js';
import { formatElapsed } from './progress-text.js';
import type { ReleaseViewState } from './release-store.js';
import { DoneLine, Line, TitleLine } from './view-parts.js';

export interface ReleaseProgressProps {
  state: ReleaseViewState;
  now: number;
  columns: number;
}

const BAR_CELLS = 10;

export function ReleaseProgress({ state, now, columns }: ReleaseProgressProps): ReactNode {
  const width = Math.max(1, Math.floor(columns));
  const title = state.release ? `release ${state.release}${state.step > 0 ? ` · step ${state.step}` : ''}` : 'release: preparing';
  return (
    <Box flexDirection="column" width={width}>
      <TitleLine title={title} elapsed={formatElapsed(state.startedAt === undefined ? 0 : now - state.startedAt)} />
      <Line>{(['canary', 'baseline', 'prod'] as Arm[]).map((arm) => `${arm} ${bar(state.weights[arm])} ${state.weights[arm]}%`).join('  ')}</Line>
      {state.progress !== undefined && (
        <Line>
          <Text color="yellow">{`● ${state.progress}`}</Text>
        </Line>
      )}
      {state.verdict !== undefined && (
        <Line>
          <Text dimColor>{state.verdict}</Text>
        </Line>
      )}
      {state.events.map((event, index) => (
        <Line key={`event-${index}`}>
          <Text color={event.warning ? 'yellow' : undefined} dimColor={!event.warning}>{`  ${event.text}`}</Text>
        </Line>
      ))}
      {state.ask !== undefined && <Question question={state.ask.question} answer={state.ask.answer} />}
      {state.done !== undefined && <DoneLine done={state.done} />}
    </Box>
  );
}

function Question({ question, answer }: { question: string; answer: (yes: boolean) => void }): ReactNode {
  useInput((input, key) => {
    // The terminal is in raw mode while asking: Ctrl-C arrives as a key, and still means stop.
    if (key.ctrl && input === 'c') process.kill(process.pid, 'SIGINT');
    else if (input === 'y' || input === 'Y') answer(true);
    else if (input === 'n' || input === 'N' || key.return || key.escape) answer(false);
  });
  return (
    <Line>
      <Text color="cyan" bold>{`? ${question} [y/N]`}</Text>
    </Line>
  );
}

function bar(percent: number): string {
  const filled = Math.round((Math.max(0, Math.min(100, percent)) / 100) * BAR_CELLS);
  return `${'█'.repeat(filled)}${'░'.repeat(BAR_CELLS - filled)}`;
}
