/**
 * Pieces both live views (UpProgress, PipelineProgress) draw with, so a marker, a colour, a cut
 * line or the closing summary look the same whichever command runs.
 */
import { Text } from 'ink';
import type { ReactNode } from 'react';
import type { PhaseStatus } from './progress-store.js';
import { expandTabs } from './sanitize.js';

/** Static markers, no spinner: a view must not animate by itself. */
const MARKER: Record<PhaseStatus, string> = { pending: '·', active: '●', ready: '✔', failed: '✖', idle: '–' };
const COLOUR: Record<PhaseStatus, string> = { pending: 'gray', active: 'yellow', ready: 'green', failed: 'red', idle: 'gray' };

const COLUMN_GAP = '  ';
/** Lines that belong to a row (build output, stage output, checks) sit under it, past the marker. */
export const ROW_INDENT = '    ';

/** One terminal line: never wraps, cut with `…` at the width of the enclosing box. */
export function Line({ children }: { children: ReactNode }): ReactNode {
  return <Text wrap="truncate-end">{children}</Text>;
}

/** The header: the title in bold, the time since the start dimmed. */
export function TitleLine({ title, elapsed }: { title: string; elapsed: string }): ReactNode {
  return (
    <Line>
      <Text bold>{title}</Text>
      <Text dimColor>{`${COLUMN_GAP}${elapsed}`}</Text>
    </Line>
  );
}

/** Output under a row (build output, stage output), dimmed and indented; tabs expanded. */
export function OutputLines({ lines, keyPrefix }: { lines: readonly string[]; keyPrefix: string }): ReactNode {
  return lines.map((line, index) => (
    <Line key={`${keyPrefix}-${index}`}>
      <Text dimColor>{`${ROW_INDENT}${expandTabs(line)}`}</Text>
    </Line>
  ));
}

/** `⚠ <warning>` lines, in order. */
export function WarningLines({ warnings }: { warnings: readonly string[] }): ReactNode {
  return warnings.map((warning, index) => (
    <Line key={`warning-${index}`}>
      <Text color="yellow">{`⚠ ${warning}`}</Text>
    </Line>
  ));
}

/** The closing line: `✔ <summary>`, `■ <summary>` when cancelled, `✖ <summary>` when failed. */
export function DoneLine({ done }: { done: { readonly ok: boolean; readonly cancelled: boolean; readonly summary: string } }): ReactNode {
  const [marker, colour] = done.ok ? ['✔', 'green'] : done.cancelled ? ['■', 'yellow'] : ['✖', 'red'];
  return (
    <Line>
      <Text color={colour} bold>{`${marker} ${done.summary}`}</Text>
    </Line>
  );
}

export interface RowWidths {
  name: number;
  words: number;
  /** 0 when no row has an elapsed time: the column is left out. */
  elapsed: number;
}

/**
 * One row of a list of things in progress: `✔ db      healthy   4.2s  detail`. Names and words are
 * padded to their column, elapsed times right-aligned so totals line up; a failure detail is red.
 */
export function StatusRow(props: {
  status: PhaseStatus;
  name: string;
  words: string;
  elapsed: string;
  detail: string | undefined;
  widths: RowWidths;
}): ReactNode {
  const { status, name, words, elapsed, detail, widths } = props;
  return (
    <Line>
      <Text color={COLOUR[status]}>{MARKER[status]}</Text>{' '}
      <Text bold>{name.padEnd(widths.name)}</Text>
      {COLUMN_GAP}
      <Text color={COLOUR[status]}>{words.padEnd(widths.words)}</Text>
      {widths.elapsed > 0 && (
        <>
          {COLUMN_GAP}
          <Text dimColor>{elapsed.padStart(widths.elapsed)}</Text>
        </>
      )}
      {detail !== undefined && (
        <>
          {COLUMN_GAP}
          <Text color={status === 'failed' ? 'red' : undefined}>{detail}</Text>
        </>
      )}
    </Line>
  );
}

/** Width of a column: its longest text (characters). */
export function widest(texts: readonly string[]): number {
  return texts.reduce((max, text) => Math.max(max, text.length), 0);
}
