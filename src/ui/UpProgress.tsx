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
import type { PhaseStatus, ProgressState, ServiceProgress } from './progress-store.js';
import { phaseStatus } from './progress-store.js';
import { elapsedText, formatElapsed, operationTitle, phaseWords } from './progress-text.js';
import { expandTabs } from './sanitize.js';

export interface UpProgressProps {
  state: ProgressState;
  /** ms on the events' clock (the same clock as `at`). */
  now: number;
  /** Terminal width in columns: no line is wider; longer lines end in `…`. */
  columns: number;
}

/** Static markers, no spinner: the view must not animate by itself. */
const MARKER: Record<PhaseStatus, string> = { pending: '·', active: '●', ready: '✔', failed: '✖', idle: '–' };
const COLOUR: Record<PhaseStatus, string> = { pending: 'gray', active: 'yellow', ready: 'green', failed: 'red', idle: 'gray' };

const COLUMN_GAP = '  ';
/** Build output sits under its service row, indented past the marker. */
const BUILD_LOG_INDENT = '    ';

export function UpProgress({ state, now, columns }: UpProgressProps): ReactNode {
  const width = Math.max(1, Math.floor(columns));
  const rows = state.services.map((service) => ({ service, elapsed: elapsedText(service, state, now) }));
  const widths = {
    name: widest(rows.map((row) => row.service.name)),
    phase: widest(rows.map((row) => phaseWords(row.service.phase))),
    elapsed: widest(rows.map((row) => row.elapsed)),
  };
  return (
    <Box flexDirection="column" width={width}>
      {state.operation !== undefined && (
        <Line>
          <Text bold>{operationTitle(state.operation)}</Text>
          <Text dimColor>{`${COLUMN_GAP}${formatElapsed((state.done?.at ?? now) - state.operation.startedAt)}`}</Text>
        </Line>
      )}
      {rows.map(({ service, elapsed }) => (
        <ServiceRow key={service.name} service={service} elapsed={elapsed} widths={widths} />
      ))}
      <ResourceLine resources={state.resources} />
      {state.warnings.map((warning, index) => (
        <Line key={`warning-${index}`}>
          <Text color="yellow">{`⚠ ${warning}`}</Text>
        </Line>
      ))}
      {state.done !== undefined && <DoneLine done={state.done} />}
    </Box>
  );
}

function ServiceRow(props: {
  service: ServiceProgress;
  elapsed: string;
  widths: { name: number; phase: number; elapsed: number };
}): ReactNode {
  const { service, elapsed, widths } = props;
  const status = phaseStatus(service.phase);
  const showBuildLog = service.phase === 'building' || service.phase === 'failed';
  return (
    <>
      <Line>
        <Text color={COLOUR[status]}>{MARKER[status]}</Text>{' '}
        <Text bold>{service.name.padEnd(widths.name)}</Text>
        {COLUMN_GAP}
        <Text color={COLOUR[status]}>{phaseWords(service.phase).padEnd(widths.phase)}</Text>
        {widths.elapsed > 0 && (
          <>
            {COLUMN_GAP}
            <Text dimColor>{elapsed.padStart(widths.elapsed)}</Text>
          </>
        )}
        {service.detail !== undefined && (
          <>
            {COLUMN_GAP}
            <Text color={status === 'failed' ? 'red' : undefined}>{service.detail}</Text>
          </>
        )}
      </Line>
      {showBuildLog &&
        service.buildLog.map((line, index) => (
          <Line key={`${service.name}-log-${index}`}>
            <Text dimColor>{`${BUILD_LOG_INDENT}${expandTabs(line)}`}</Text>
          </Line>
        ))}
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

function DoneLine({ done }: { done: NonNullable<ProgressState['done']> }): ReactNode {
  const [marker, colour] = done.ok ? ['✔', 'green'] : done.cancelled ? ['■', 'yellow'] : ['✖', 'red'];
  return (
    <Line>
      <Text color={colour} bold>{`${marker} ${done.summary}`}</Text>
    </Line>
  );
}

/** One terminal line: never wraps, cut with `…` at the width of the enclosing box. */
function Line({ children }: { children: ReactNode }): ReactNode {
  return <Text wrap="truncate-end">{children}</Text>;
}

function widest(texts: readonly string[]): number {
  return texts.reduce((max, text) => Math.max(max, text.length), 0);
}
