/**
 * The `envctl monitor` dashboard: a pure function of the folded state and the terminal size. It
 * starts no work and no timers; monitor-app.ts decides when to draw. Every line is cut at the
 * width of its pane, and the panes add up to exactly `rows` lines (full screen).
 *
 * Wide (≥ 120 columns): services beside the release and pipeline panels, logs below.
 * Narrow: services, release, pipeline (one line) and logs stacked.
 *
 *   envctl monitor · demo (env default) · 4 services                                   12:47:20
 *   ╭ services ─────────────────────────────╮╭ release ─────────────────────────────╮
 *   │   SERVICE  STATE    HEALTH   UPTIME … ││ r-… web · gate · step 2               │
 *   ╰───────────────────────────────────────╯╰──────────────────────────────────────╯
 *   ╭ logs · all services · following ──────────────────────────────────────────────╮
 *   │ 12:47:19 web    | GET /api/items 200 3ms                                      │
 *   ╰───────────────────────────────────────────────────────────────────────────────╯
 *   Tab pane  ↑↓ select  l logs of service  / filter  f follow  r restart  ? help  q quit
 */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { formatDuration } from '../engine/status.js';
import type { Arm } from '../proxy/types.js';
import type { LogEntry, MonitorState, Pane, ServiceView } from './monitor-store.js';
import { CONTROLLED_STATUSES, ERROR_CHART_FLOOR_PERCENT, focusablePanes, logSourceName, selectedService, sparkline, visibleLogLines, waitsForPromotion } from './monitor-store.js';
import { stagePhaseStatus } from './pipeline-store.js';
import { formatElapsed } from './progress-text.js';
import { Line, StatusRow, widest } from './view-parts.js';

export interface MonitorViewProps {
  state: MonitorState;
  columns: number;
  rows: number;
}

/** From this width on, the release and pipeline panels sit beside the services. */
export const WIDE_COLUMNS = 120;
const SIDE_WIDTH = 64;
const BORDER = 2;
const HEADER_ROWS = 1;
const FOOTER_ROWS = 2;
const MIN_LOG_ROWS = 3;
/** Title, status, weights, arm header, three arms, verdict, gate. */
const RELEASE_LINES = 9;
/** Below those: the charts' header and one row of charts per arm, shown when there is room. */
const RELEASE_CHART_LINES = 4;
/** The arm names' column of the release panel's table and charts. */
const ARM_COLUMN = 9;
const CHART_GAP = 2;
const SERVICE_DETAIL_LINES = 2;
const ARMS: readonly Arm[] = ['canary', 'baseline', 'prod'];
const SERVICE_COLOURS = ['cyan', 'magenta', 'blue', 'green', 'yellow'] as const;

export interface MonitorLayout {
  wide: boolean;
  /** Height of each box, borders included; 0 when the box is not shown. */
  services: number;
  release: number;
  pipeline: number;
  logs: number;
  /** Height of the top row in the wide layout (services beside release and pipeline). */
  top: number;
}

/** Box heights that add up to `rows`: the logs take what the other panes leave. */
export function monitorLayout(state: MonitorState, columns: number, rows: number): MonitorLayout {
  const wide = columns >= WIDE_COLUMNS;
  const available = Math.max(0, rows - HEADER_ROWS - FOOTER_ROWS);
  // Title, column header, one row per container, the selected one's details.
  const wantServices = BORDER + 2 + Math.max(1, state.services.length) + SERVICE_DETAIL_LINES;
  const release = state.release === undefined ? 0 : BORDER + RELEASE_LINES + RELEASE_CHART_LINES;
  // Wide: the title and a row per stage; narrow: one line with a mark per stage.
  const pipelineRows = state.pipeline === undefined ? 0 : wide ? 1 + state.pipeline.stages.length : 1;
  const pipeline = state.pipeline === undefined ? 0 : BORDER + pipelineRows;
  const room = Math.max(0, available - (BORDER + MIN_LOG_ROWS));
  if (wide) {
    const top = Math.min(room, Math.max(wantServices, release + pipeline));
    return { wide, services: top, release: Math.min(release, top), pipeline: Math.min(pipeline, Math.max(0, top - release)), logs: available - top, top };
  }
  // Stacked, the charts come last: only in the room the services and the pipeline leave.
  const releaseCore = Math.max(0, release - RELEASE_CHART_LINES);
  const fixedRelease = Math.min(releaseCore, room);
  const fixedPipeline = Math.min(pipeline, Math.max(0, room - fixedRelease));
  const services = Math.min(wantServices, Math.max(0, room - fixedRelease - fixedPipeline));
  const charts = Math.min(release - releaseCore, Math.max(0, room - fixedRelease - fixedPipeline - services));
  const releaseHeight = fixedRelease + (fixedRelease === releaseCore ? charts : 0);
  return { wide, services, release: releaseHeight, pipeline: fixedPipeline, logs: available - services - releaseHeight - fixedPipeline, top: 0 };
}

export function MonitorView({ state, columns, rows }: MonitorViewProps): ReactNode {
  const width = Math.max(20, Math.floor(columns));
  const height = Math.max(HEADER_ROWS + FOOTER_ROWS, Math.floor(rows));
  const layout = monitorLayout(state, width, height);
  const sideWidth = Math.min(SIDE_WIDTH, Math.floor(width / 2));
  const servicesWidth = layout.wide && (layout.release > 0 || layout.pipeline > 0) ? width - sideWidth : width;
  const services = <ServicesPane state={state} width={servicesWidth} height={layout.services} />;
  const release = layout.release > 0 ? <ReleasePane state={state} width={layout.wide ? sideWidth : width} height={layout.release} /> : null;
  const pipeline = layout.pipeline > 0 ? <PipelinePane state={state} width={layout.wide ? sideWidth : width} height={layout.pipeline} compact={!layout.wide} /> : null;
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <HeaderLine state={state} />
      {layout.wide ? (
        <Box flexDirection="row" height={layout.top} overflow="hidden">
          {services}
          {(release || pipeline) && (
            <Box flexDirection="column" width={sideWidth} height={layout.top} overflow="hidden">
              {release}
              {pipeline}
            </Box>
          )}
        </Box>
      ) : (
        <>
          {services}
          {release}
          {pipeline}
        </>
      )}
      {state.ui.help ? <HelpPane width={width} height={layout.logs} /> : <LogsPane state={state} width={width} height={layout.logs} />}
      <Footer state={state} />
    </Box>
  );
}

function HeaderLine({ state }: { state: MonitorState }): ReactNode {
  const counts = `${state.services.filter((service) => service.state === 'running').length}/${state.services.length} running`;
  return (
    <Line>
      <Text bold>envctl monitor</Text>
      <Text>{` · ${state.project}${state.env ? ` (env ${state.env})` : ''} · ${counts}`}</Text>
      {state.engineError !== undefined && <Text color="red">{` · engine: ${state.engineError}`}</Text>}
    </Line>
  );
}

/** A bordered pane with its title in the first line; the border is cyan when it has the focus. */
function Pane(props: { title: string; focused: boolean; width: number; height: number; children: ReactNode }): ReactNode {
  const { title, focused, width, height, children } = props;
  if (height < BORDER) return null;
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={focused ? 'cyan' : 'gray'} width={width} height={height} overflow="hidden">
      {height > BORDER && (
        <Box flexShrink={0}>
          <Line>
            <Text bold color={focused ? 'cyan' : undefined}>
              {title}
            </Text>
          </Line>
        </Box>
      )}
      {/* Content taller than the pane is cut at the bottom; the title stays. */}
      <Box flexDirection="column" flexGrow={1} overflow="hidden">
        {children}
      </Box>
    </Box>
  );
}

interface Column {
  title: string;
  cell: (service: ServiceView, state: MonitorState) => string;
  align: 'left' | 'right';
}

const COLUMNS: Record<string, Column> = {
  name: { title: 'SERVICE', cell: (service) => (service.slot ? `${service.service} (${service.slot})` : service.service), align: 'left' },
  state: { title: 'STATE', cell: (service) => service.state, align: 'left' },
  health: { title: 'HEALTH', cell: (service) => service.health ?? '-', align: 'left' },
  uptime: { title: 'UPTIME', cell: (service, state) => (service.startedAt === undefined || service.state !== 'running' ? '-' : formatDuration(Math.max(0, Math.round((state.observedAt - service.startedAt) / 1000)))), align: 'right' },
  restarts: { title: 'RESTARTS', cell: (service) => (service.restarts === undefined ? '-' : String(service.restarts)), align: 'right' },
  cpu: { title: 'CPU', cell: (service) => (service.cpuPercent === undefined ? '-' : `${service.cpuPercent.toFixed(1)}%`), align: 'right' },
  memory: { title: 'MEM', cell: (service) => (service.memoryBytes === undefined ? '-' : formatBytes(service.memoryBytes)), align: 'right' },
  ports: { title: 'PORTS', cell: (service) => service.ports.join(', ') || '-', align: 'left' },
};

/** Columns by content width: the narrow set leaves restarts and ports to the details lines. */
function columnsFor(width: number): Column[] {
  const names = width >= 96 ? ['name', 'state', 'health', 'uptime', 'restarts', 'cpu', 'memory', 'ports'] : width >= 72 ? ['name', 'state', 'health', 'uptime', 'restarts', 'cpu', 'memory'] : ['name', 'state', 'health', 'uptime', 'cpu', 'memory'];
  return names.map((name) => COLUMNS[name]!);
}

function ServicesPane({ state, width, height }: { state: MonitorState; width: number; height: number }): ReactNode {
  const focused = state.ui.focus === 'services';
  const columns = columnsFor(width - BORDER);
  const cells = state.services.map((service) => columns.map((column) => column.cell(service, state)));
  const widths = columns.map((column, index) => widest([column.title, ...cells.map((row) => row[index] ?? '')]));
  const line = (values: readonly string[]) => values.map((value, index) => (columns[index]!.align === 'right' ? value.padStart(widths[index]!) : value.padEnd(widths[index]!))).join('  ');
  const listRows = Math.max(0, height - BORDER - 1 - 1 - SERVICE_DETAIL_LINES);
  const selectedIndex = Math.max(0, state.services.findIndex((service) => service.key === state.ui.selected));
  const first = Math.max(0, Math.min(selectedIndex - listRows + 1, state.services.length - listRows));
  const shown = state.services.slice(first, first + listRows);
  const selected = selectedService(state);
  return (
    <Pane title={`services${state.services.length > listRows && listRows > 0 ? ` (${first + 1}-${first + shown.length} of ${state.services.length})` : ''}`} focused={focused} width={width} height={height}>
      <Line>
        <Text dimColor>{`  ${line(columns.map((column) => column.title))}`}</Text>
      </Line>
      {state.services.length === 0 && (
        <Line>
          <Text dimColor>  no services yet</Text>
        </Line>
      )}
      {shown.map((service) => {
        const index = state.services.indexOf(service);
        const isSelected = service.key === state.ui.selected;
        return (
          <Line key={service.key}>
            <Text color={isSelected ? 'cyan' : undefined}>{isSelected ? '› ' : '  '}</Text>
            <Text inverse={isSelected && focused} color={stateColour(service)}>
              {line(cells[index] ?? [])}
            </Text>
          </Line>
        );
      })}
      {selected !== undefined && <ServiceDetails service={selected} />}
    </Pane>
  );
}

function ServiceDetails({ service }: { service: ServiceView }): ReactNode {
  const memory = service.memoryBytes === undefined ? undefined : `${formatBytes(service.memoryBytes)}${service.memoryLimitBytes ? ` of ${formatBytes(service.memoryLimitBytes)}` : ''}`;
  const first = [service.container ? `container ${service.container}` : 'no container', service.image ? `image ${service.image}` : undefined].filter(Boolean).join(' · ');
  const second = [
    `ports ${service.ports.join(', ') || '-'}`,
    service.restarts === undefined ? undefined : `restarts ${service.restarts}`,
    service.state !== 'running' && service.exitCode !== undefined ? `exit ${service.exitCode}` : undefined,
    memory === undefined ? undefined : `mem ${memory}`,
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <>
      <Line>
        <Text dimColor>{`  ${first}`}</Text>
      </Line>
      <Line>
        <Text dimColor>{`  ${second}`}</Text>
      </Line>
    </>
  );
}

function stateColour(service: ServiceView): string | undefined {
  if (service.health === 'unhealthy' || service.state === 'dead' || (service.state === 'exited' && service.exitCode !== 0)) return 'red';
  if (service.health === 'starting' || service.state === 'restarting' || service.state === 'created') return 'yellow';
  if (service.state === 'running') return 'green';
  return 'gray';
}

function ReleasePane({ state, width, height }: { state: MonitorState; width: number; height: number }): ReactNode {
  const release = state.release!;
  const proxy = state.proxy;
  const weights = proxy?.weights ?? release.weights;
  const statusColour = release.status === 'promoted' ? 'green' : release.status === 'gate' ? 'yellow' : release.status === 'running' || release.status === 'preparing' ? 'cyan' : 'red';
  const weightsSource = proxy !== undefined ? '' : release.adminSocket === undefined ? ' (recorded)' : ' (recorded; proxy not answering)';
  const trend = state.proxyTrend;
  const failing = (arm: Arm) => (trend?.recentBad[arm] ?? 0) > 0;
  // Three charts side by side after the arm's name, each as wide as the pane allows (newest points).
  const chartWidth = Math.max(1, Math.floor((width - BORDER - ARM_COLUMN - 2 * CHART_GAP) / 3));
  const chartCell = (text: string) => text.slice(0, chartWidth).padEnd(chartWidth);
  const gap = ' '.repeat(CHART_GAP);
  // Only whole: lines past the pane's height would be squeezed by the layout, not cut.
  const showCharts = height - BORDER >= RELEASE_LINES + RELEASE_CHART_LINES;
  return (
    <Pane title="release" focused={state.ui.focus === 'release'} width={width} height={height}>
      <Line>
        <Text>{`${release.id} ${release.service} · `}</Text>
        <Text color={statusColour} bold>
          {release.status}
        </Text>
        <Text>{` · step ${proxy?.step ?? release.step}`}</Text>
        {!release.controllerRunning && CONTROLLED_STATUSES.has(release.status) && <Text color="yellow"> · no controller</Text>}
      </Line>
      <Line>
        <Text>{`weights canary ${weights.canary}% · baseline ${weights.baseline}% · prod ${weights.prod}%`}</Text>
        <Text dimColor>{weightsSource}</Text>
      </Line>
      <Line>
        <Text dimColor>{armRow('arm', ['requests', 'bad', 'p50 ms', 'p99 ms', 'req/s', 'err %'])}</Text>
      </Line>
      {ARMS.map((arm) => {
        const figures = proxy?.arms[arm];
        const rate = trend?.rates[arm].at(-1);
        const errorPercent = trend?.errorPercents[arm].at(-1);
        const cells = figures === undefined ? ['-', '-', '-', '-'] : [String(figures.requests), String(figures.bad), figures.p50Ms.toFixed(1), figures.p99Ms.toFixed(1)];
        return (
          <Line key={arm}>
            <Text color={failing(arm) ? 'red' : undefined}>{armRow(arm, [...cells, rate === undefined ? '-' : rate.toFixed(1), errorPercent == null ? '-' : errorPercent.toFixed(1)])}</Text>
          </Line>
        );
      })}
      <Line>
        <Text dimColor>judge </Text>
        {release.verdict === undefined ? (
          <Text dimColor>no verdict yet</Text>
        ) : (
          <Text color={release.verdict.action === 'rollback' ? 'red' : release.verdict.action === 'promote' || release.verdict.action === 'continue' ? 'green' : 'yellow'}>
            {`${release.verdict.action}${release.verdict.reasons.length > 0 ? `: ${release.verdict.reasons.join('; ')}` : ''}`}
          </Text>
        )}
      </Line>
      <Line>
        {release.gate !== undefined ? (
          <Text color="yellow">{`gate  ${waitsForPromotion(release) ? 'p promotes' : 'a approves'} · ${release.gate.reason} (aborts at ${release.gate.timeoutAt.slice(11, 19)})`}</Text>
        ) : (
          <Text dimColor>{release.outcome ? `outcome ${release.outcome}` : state.proxyError ? `proxy ${state.proxyError}` : 'no gate'}</Text>
        )}
      </Line>
      {showCharts && (
        <Line>
          <Text dimColor>{`${'trends'.padEnd(ARM_COLUMN)}${[chartCell('req/s'), chartCell('err %'), chartCell('p99 ms (step)')].join(gap)}`}</Text>
        </Line>
      )}
      {showCharts &&
        ARMS.map((arm) => (
          <Line key={`chart-${arm}`}>
            <Text color={failing(arm) ? 'red' : undefined}>{arm.padEnd(ARM_COLUMN)}</Text>
            <Text color="cyan">{chartCell(sparkline((trend?.rates[arm] ?? []).slice(-chartWidth)))}</Text>
            <Text>{gap}</Text>
            <Text color={failing(arm) ? 'red' : 'cyan'}>{chartCell(sparkline((trend?.errorPercents[arm] ?? []).slice(-chartWidth), ERROR_CHART_FLOOR_PERCENT))}</Text>
            <Text>{gap}</Text>
            <Text color="cyan">{chartCell(sparkline((trend?.p99Ms[arm] ?? []).slice(-chartWidth)))}</Text>
          </Line>
        ))}
    </Pane>
  );
}

/** One row of the arms' table: the arm's name, then right-aligned figures. */
function armRow(name: string, cells: readonly string[]): string {
  const widths = [8, 6, 7, 7, 6, 6];
  return `${name.padEnd(ARM_COLUMN)} ${cells.map((cell, index) => cell.padStart(widths[index] ?? 0)).join(' ')}`;
}

function PipelinePane({ state, width, height, compact }: { state: MonitorState; width: number; height: number; compact: boolean }): ReactNode {
  const pipeline = state.pipeline!;
  if (compact) {
    const marks = pipeline.stages.map((stage) => `${stageMark(stage.status)} ${stage.name}`).join(' ');
    return (
      <Pane title={`pipeline ${pipeline.status}: ${marks}`} focused={false} width={width} height={height}>
        {null}
      </Pane>
    );
  }
  const elapsed = (durationMs: number | undefined) => (durationMs === undefined ? '' : formatElapsed(durationMs));
  const widths = {
    name: widest(pipeline.stages.map((stage) => stage.name)),
    words: widest(pipeline.stages.map((stage) => stage.status)),
    elapsed: widest(pipeline.stages.map((stage) => elapsed(stage.durationMs))),
  };
  return (
    <Pane title={`pipeline ${pipeline.id} · ${pipeline.status}`} focused={false} width={width} height={height}>
      {pipeline.stages.map((stage) => (
        <StatusRow key={stage.name} status={stagePhaseStatus(stage.status)} name={stage.name} words={stage.status} elapsed={elapsed(stage.durationMs)} detail={stage.detail} widths={widths} />
      ))}
    </Pane>
  );
}

function stageMark(status: string): string {
  return status === 'passed' ? '✔' : status === 'failed' ? '✖' : status === 'running' ? '●' : status === 'skipped' ? '–' : '·';
}

function LogsPane({ state, width, height }: { state: MonitorState; width: number; height: number }): ReactNode {
  const lines = visibleLogLines(state, height - BORDER - 1);
  const serviceWidth = widest(state.services.map((service) => logSourceName(service.service, service.slot)));
  const palette = new Map([...new Set(state.services.map((service) => logSourceName(service.service, service.slot)))].map((name, index) => [name, SERVICE_COLOURS[index % SERVICE_COLOURS.length]!]));
  const title = [
    'logs',
    state.ui.logService === undefined ? 'all services' : `service ${state.ui.logService}`,
    state.ui.filter === '' ? undefined : `filter "${state.ui.filter}"`,
    state.ui.follow ? 'following' : 'paused (f follows)',
    state.logs.dropped > 0 ? `${state.logs.lines.length} lines kept` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <Pane title={title} focused={state.ui.focus === 'logs'} width={width} height={height}>
      {lines.length === 0 && (
        <Line>
          <Text dimColor>{state.logs.lines.length === 0 ? 'no log lines yet' : 'no line matches the filter (Esc clears it)'}</Text>
        </Line>
      )}
      {lines.map((line) => (
        <LogLineRow key={line.seq} line={line} serviceWidth={serviceWidth} colour={palette.get(line.service)} maxChars={width - BORDER} />
      ))}
    </Pane>
  );
}

/** `maxChars`: the pane's inner width; longer text is cut before Ink measures it (measuring is most of a frame's cost). */
function LogLineRow({ line, serviceWidth, colour, maxChars }: { line: LogEntry; serviceWidth: number; colour: string | undefined; maxChars: number }): ReactNode {
  return (
    <Line>
      {line.time !== '' && <Text dimColor>{`${line.time} `}</Text>}
      <Text color={colour}>{`${line.service.padEnd(serviceWidth)} | `}</Text>
      <Text color={line.error ? 'red' : undefined} bold={line.error}>
        {line.text.length > maxChars ? line.text.slice(0, maxChars) : line.text}
      </Text>
    </Line>
  );
}

export const HELP_LINES: readonly string[] = [
  'Tab / Shift-Tab, ←/→   move between panes (services, logs, release)',
  '↑/↓ (k/j)              select a service; in the log pane: scroll (pauses)',
  'PgUp / PgDn            scroll the logs by a page',
  'l                      logs of the selected service only (again: all)',
  '/                      filter the logs by text (Enter keeps it, Esc clears it)',
  'f or Space             follow / pause the logs',
  'Esc                    clear the log filters',
  'r                      restart the selected service (asks y/n)',
  'a                      approve the release waiting at a gate (asks y/n)',
  'p                      promote the release waiting at its gate before promotion (asks y/n)',
  'b                      roll the release back (asks y/n)',
  '+ / -                  canary weight ±5% after the release ended (manual mode)',
  'q or Ctrl-C            quit',
];

function HelpPane({ width, height }: { width: number; height: number }): ReactNode {
  return (
    <Pane title="keys (any key closes this help)" focused width={width} height={height}>
      {HELP_LINES.map((line) => (
        <Line key={line}>
          <Text>{line}</Text>
        </Line>
      ))}
    </Pane>
  );
}

const KEYS_BY_PANE: Record<Pane, string> = {
  services: '↑↓ select  l logs of service  r restart',
  logs: '↑↓ scroll  f follow/pause  l service',
  release: 'a approve  p promote  b roll back  +/- weight',
};

function Footer({ state }: { state: MonitorState }): ReactNode {
  const { ui } = state;
  const panes = focusablePanes(state);
  let status: ReactNode;
  if (ui.prompt !== undefined) status = <Text color="yellow" bold>{`${ui.prompt.question} [y/N]`}</Text>;
  else if (ui.editingFilter) status = <Text>{`filter: ${ui.filter}█  (Enter keeps · Esc clears)`}</Text>;
  else if (ui.message !== undefined) status = <Text color={ui.message.level === 'error' ? 'red' : 'green'}>{ui.message.text}</Text>;
  else status = <Text dimColor>{gateHint(state)}</Text>;
  return (
    <>
      <Line>{status}</Line>
      <Line>
        <Text dimColor>{`Tab ${panes.join('/')}  ${KEYS_BY_PANE[ui.focus]}  / filter  ? help  q quit`}</Text>
      </Line>
    </>
  );
}

function gateHint(state: MonitorState): string {
  const release = state.release;
  if (release?.status !== 'gate') return ' ';
  return waitsForPromotion(release) ? `p promotes ${release.id} (it waits at a gate)` : `release ${release.id} waits at a gate: a approves`;
}

/** Bytes as `12.3 MiB` / `1.2 GiB`. */
export function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  if (mib >= 1024) return `${(mib / 1024).toFixed(1)} GiB`;
  if (mib >= 100) return `${mib.toFixed(0)} MiB`;
  return `${mib.toFixed(1)} MiB`;
}
