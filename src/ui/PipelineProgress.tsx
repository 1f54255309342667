/**
 * The live view of `envctl pipeline`: a pure function of the folded state and the current time.
 * It starts no work and no timers; the renderer decides when to draw (see render-progress.ts).
 *
 *   pipeline 20261126T103512Z-a1b2 for demo (env default)  31.4s
 *   ✔ build        passed   12.3s
 *   ✖ integration  failed    8.2s  npm test exited 1
 *       ✖ api returns 200: got 500
 *       4 checks passed
 *       FAIL test/api.test.ts
 *   ● perf         running   3.1s
 *       db  healthy (2.1s)
 *   · staging      pending
 *   ⚠ port 8080 is published on all interfaces
 *
 * Under a stage: its failed checks (red), how many passed, then its last output lines (dimmed)
 * while it runs or after it failed. Times are right-aligned so they line up.
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { PipelineState, StageProgress } from './pipeline-store.js';
import { stagePhaseStatus } from './pipeline-store.js';
import { checkText, passedChecksText, pipelineTitle, stageElapsedText } from './pipeline-text.js';
import { formatElapsed } from './progress-text.js';
import type { RowWidths } from './view-parts.js';
import { DoneLine, Line, OutputLines, ROW_INDENT, StatusRow, TitleLine, WarningLines, widest } from './view-parts.js';

export interface PipelineProgressProps {
  state: PipelineState;
  /** ms on the pipeline events' clock (the same clock as their `at`). */
  now: number;
  /** Terminal width in columns: no line is wider; longer lines end in `…`. */
  columns: number;
}

export function PipelineProgress({ state, now, columns }: PipelineProgressProps): ReactNode {
  const width = Math.max(1, Math.floor(columns));
  const rows = state.stages.map((stage) => ({ stage, elapsed: stageElapsedText(stage, state, now) }));
  const widths: RowWidths = {
    name: widest(rows.map((row) => row.stage.name)),
    words: widest(rows.map((row) => row.stage.status)),
    elapsed: widest(rows.map((row) => row.elapsed)),
  };
  return (
    <Box flexDirection="column" width={width}>
      {state.run !== undefined && (
        <TitleLine title={pipelineTitle(state.run)} elapsed={formatElapsed((state.done?.at ?? now) - state.run.startedAt)} />
      )}
      {rows.map(({ stage, elapsed }) => (
        <StageRow key={stage.name} stage={stage} elapsed={elapsed} widths={widths} />
      ))}
      <WarningLines warnings={state.warnings} />
      {state.done !== undefined && <DoneLine done={state.done} />}
    </Box>
  );
}

function StageRow(props: { stage: StageProgress; elapsed: string; widths: RowWidths }): ReactNode {
  const { stage, elapsed, widths } = props;
  const failedChecks = stage.checks.filter((check) => check.status === 'failed');
  const passedChecks = stage.checks.length - failedChecks.length;
  const showOutput = stage.status === 'running' || stage.status === 'failed';
  return (
    <>
      <StatusRow
        status={stagePhaseStatus(stage.status)}
        name={stage.name}
        words={stage.status}
        elapsed={elapsed}
        detail={stage.detail}
        widths={widths}
      />
      {failedChecks.map((check, index) => (
        <Line key={`${stage.name}-check-${index}`}>
          <Text color="red">{`${ROW_INDENT}✖ ${checkText(check)}`}</Text>
        </Line>
      ))}
      {passedChecks > 0 && (
        <Line>
          <Text dimColor>{`${ROW_INDENT}${passedChecksText(passedChecks)}`}</Text>
        </Line>
      )}
      {showOutput && <OutputLines lines={stage.output} keyPrefix={`${stage.name}-output`} />}
    </>
  );
}
