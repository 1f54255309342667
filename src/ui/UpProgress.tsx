/**
 * The live view of `up`/`down`: a pure function of the folded state and the current time. It
 * starts no work and no timers; the renderer decides when to draw (see render-progress.ts).
 *
 *   up shop (env local)  7.4s
 *   ✔ db      healthy   4.2s
 *   ● web     building  3.1s
 *       Step 2/4 : RUN npm ci
 *   ✖ worker  failed    0.4s  exited (1)
 *   ⚠ port 8080 is published on all interfaces
 *
 * Times: in progress `<in phase> / <total>` (just one when the service is in its first phase),
 * settled `<total>`, right-aligned so totals line up.
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { ProgressState, ServiceProgress } from './progress-store.js';
import { phaseStatus } from './progress-store.js';
import { elapsedText, formatElapsed, operationTitle, phaseWords } from './progress-text.js';
import type { RowWidths } from './view-parts.js';
import { DoneLine, Line, OutputLines, StatusRow, TitleLine, WarningLines, widest } from './view-parts.js';

export interface UpProgressProps {
  state: ProgressState;
  /** ms on the events' clock (the same clock as `at`). */
  now: number;
  /** Terminal width in columns: no line is wider; longer lines end in `…`. */
  columns: number;
}

export function UpProgress({ state, now, columns }: UpProgressProps): ReactNode {
  const width = Math.max(1, Math.floor(columns));
  const rows = state.services.map((service) => ({ service, elapsed: elapsedText(service, state, now) }));
  const widths: RowWidths = {
    name: widest(rows.map((row) => row.service.name)),
    words: widest(rows.map((row) => phaseWords(row.service.phase))),
    elapsed: widest(rows.map((row) => row.elapsed)),
  };
  return (
    <Box flexDirection="column" width={width}>
      {state.operation !== undefined && (
        <TitleLine
          title={operationTitle(state.operation)}
          elapsed={formatElapsed((state.done?.at ?? now) - state.operation.startedAt)}
        />
      )}
      {rows.map(({ service, elapsed }) => (
        <ServiceRow key={service.name} service={service} elapsed={elapsed} widths={widths} />
      ))}
      <ResourceLine resources={state.resources} />
      <WarningLines warnings={state.warnings} />
      {state.done !== undefined && <DoneLine done={state.done} />}
    </Box>
  );
}

function ServiceRow(props: { service: ServiceProgress; elapsed: string; widths: RowWidths }): ReactNode {
  const { service, elapsed, widths } = props;
  const showBuildLog = service.phase === 'building' || service.phase === 'failed';
  return (
    <>
      <StatusRow
        status={phaseStatus(service.phase)}
        name={service.name}
        words={phaseWords(service.phase)}
        elapsed={elapsed}
        detail={service.detail}
        widths={widths}
      />
      {showBuildLog && <OutputLines lines={service.buildLog} keyPrefix={`${service.name}-log`} />}
    </>
  );
}

function ResourceLine({ resources }: { resources: ProgressState['resources'] }): ReactNode {
  const parts = (['created', 'removed', 'kept'] as const)
    .filter((action) => resources[action] > 0)
    .map((action) => `${resources[action]} ${action}`);
  if (parts.length === 0) return null;
  return (
    <Line>
      <Text dimColor>{`resources: ${parts.join(', ')}`}</Text>
    </Line>
  );
}
