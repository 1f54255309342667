/**
 * The view state of `envctl monitor`: what the engine, the containers' logs, the release proxy, the
 * release files and the pipeline's run records say, folded into one object, plus where the person
 * is in the dashboard (pane, selection, filters, prompt). Pure: no I/O, the input state is never
 * mutated, and a fold that changes nothing returns the same object (the renderer then skips a
 * frame). The Ink view (Monitor.tsx) only draws this state; the feeds in monitor/ produce events.
 *
 * Every text that comes from a container, a release file or a run record is sanitised here, on
 * the way in, so views print it as is.
 */
import type { StageStatus } from '../events.js';
import type { Arm, Weights } from '../proxy/types.js';
import { expandTabs, sanitizeLine } from './sanitize.js';

/** Lines the log hub keeps (all services together); older ones are dropped. */
export const LOG_BUFFER_LINES = 2000;
/** Longest log line kept, characters: the buffer stays bounded whatever a container prints. */
export const LOG_LINE_MAX_CHARS = 1000;
/** Release states a controller drives (as `ACTIVE_STATUSES` in release/store.ts): weights are its, approvals go to it. */
export const CONTROLLED_STATUSES: ReadonlySet<string> = new Set(['preparing', 'running', 'gate']);
/** Points each trend keeps per arm: one per interval between proxy readings (every 2 s), so about a minute. */
export const TREND_POINTS = 30;
/** An error rate below this (%) does not fill its chart: 1% of errors must not look like 100%. */
export const ERROR_CHART_FLOOR_PERCENT = 5;
/** Percentage points one `+`/`-` moves the canary weight. */
export const WEIGHT_NUDGE = 5;

export type Pane = 'services' | 'logs' | 'release';

/** One container of the environment (or a declared service with none), as the engine last said. */
export interface ServiceView {
  /** Unique in the list: the container name, or the service name when not created. */
  readonly key: string;
  readonly service: string;
  /** A release's container (`canary`, `baseline`, `proxy`), beside the service's own. */
  readonly slot: string | undefined;
  readonly containerId: string | undefined;
  readonly container: string | undefined;
  /** Engine state (`running`, `exited`, …) or `not created`. */
  readonly state: string;
  readonly health: string | undefined;
  /** ms since the epoch; undefined when not running. */
  readonly startedAt: number | undefined;
  readonly restarts: number | undefined;
  readonly exitCode: number | undefined;
  /** Of one core (100 = one core busy); undefined until two readings exist. */
  readonly cpuPercent: number | undefined;
  readonly memoryBytes: number | undefined;
  readonly memoryLimitBytes: number | undefined;
  /** `127.0.0.1:8080->3000/tcp` */
  readonly ports: readonly string[];
  readonly image: string | undefined;
}

export interface LogEntry {
  /** 1, 2, 3, … in arrival order: anchors a paused view while lines keep coming. */
  readonly seq: number;
  readonly service: string;
  readonly stream: 'stdout' | 'stderr';
  /** `HH:MM:SS` of the engine's timestamp, or empty. */
  readonly time: string;
  readonly text: string;
  readonly error: boolean;
}

export interface ArmFigures {
  /** Since the proxy started (cumulative), as the latency figures. */
  readonly requests: number;
  readonly bad: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** p99 of the requests of the proxy's current step (ms); undefined while the step has none of this arm. */
  readonly stepP99Ms: number | undefined;
}

export interface ReleaseView {
  readonly id: string;
  readonly service: string;
  readonly status: string;
  readonly step: number;
  /** The weights the release recorded (state.json); the proxy's live ones are in `proxy`. */
  readonly weights: Weights;
  readonly gate: { readonly reason: string; readonly since: string; readonly timeoutAt: string } | undefined;
  readonly outcome: string | undefined;
  /** The admin socket of the release proxy; undefined when the release has none (yet). */
  readonly adminSocket: string | undefined;
  readonly proxyPort: number | undefined;
  /** Which arms have a container to send traffic to. */
  readonly arms: Readonly<Record<Arm, boolean>>;
  /** Weight steps of the release (config.lock.json; promotion follows the last); undefined when unknown. */
  readonly steps: number | undefined;
  /**
   * The judge's latest verdict (events.jsonl). `gateBefore`: what a manual gate among its reasons
   * holds back (`promote`: the release waits for approval before promotion).
   */
  readonly verdict: { readonly action: string; readonly reasons: readonly string[]; readonly gateBefore: 'promote' | 'step' | undefined } | undefined;
  /** A controller (`release start|resume|approve`) holds the release's lock right now. */
  readonly controllerRunning: boolean;
}

export interface ProxyView {
  readonly weights: Weights;
  readonly step: number;
  readonly arms: Readonly<Record<Arm, ArmFigures>>;
}

/**
 * Per arm, what the proxy's readings said over the last intervals, for the release panel's charts.
 * The series grow together, one point per interval between two readings, oldest first, at most
 * `TREND_POINTS`; null: no request in that interval (nothing to measure).
 */
export interface ProxyTrend {
  /** ms of the reading the series were last computed from. */
  readonly at: number;
  readonly totals: Readonly<Record<Arm, { readonly requests: number; readonly bad: number }>>;
  /** Requests per second in each interval. */
  readonly rates: Readonly<Record<Arm, readonly number[]>>;
  /** Bad requests of each interval over its requests, %. */
  readonly errorPercents: Readonly<Record<Arm, ReadonlyArray<number | null>>>;
  /**
   * The p99 latency of the current step's requests at the end of each interval, ms (the proxy keeps
   * no per-interval latency; its per-step summary is the one that follows a new version's effect,
   * the one since it started hardly moves); null while the step has no request of the arm.
   */
  readonly p99Ms: Readonly<Record<Arm, ReadonlyArray<number | null>>>;
  /** Bad requests between the last two readings. */
  readonly recentBad: Readonly<Record<Arm, number>>;
}

export interface PipelineView {
  readonly id: string;
  readonly status: string;
  readonly startedAt: string;
  readonly stages: ReadonlyArray<{ readonly name: string; readonly status: StageStatus; readonly durationMs: number | undefined; readonly detail: string | undefined }>;
}

/** `promote` is an approval of the gate before promotion: the controller then promotes. */
export type PromptAction = 'restart' | 'approve' | 'promote' | 'rollback';

/** A question waiting for y/n; the details are what the action needs, fixed when it was asked. */
export interface Prompt {
  readonly action: PromptAction;
  readonly question: string;
  readonly containerId?: string | undefined;
  readonly service?: string | undefined;
  readonly releaseId?: string | undefined;
}

export interface MonitorState {
  readonly project: string;
  readonly env: string;
  /** ms since the epoch of the last engine reading: the dashboard's clock (uptimes). */
  readonly observedAt: number;
  readonly services: readonly ServiceView[];
  readonly engineError: string | undefined;
  readonly logs: { readonly lines: readonly LogEntry[]; readonly nextSeq: number; readonly dropped: number };
  readonly release: ReleaseView | undefined;
  readonly proxy: ProxyView | undefined;
  readonly proxyTrend: ProxyTrend | undefined;
  readonly proxyError: string | undefined;
  readonly pipeline: PipelineView | undefined;
  readonly ui: {
    readonly focus: Pane;
    /** The selected service row's key. */
    readonly selected: string | undefined;
    /** Log lines of this service only; undefined: all. */
    readonly logService: string | undefined;
    /** Case-insensitive text the log lines must contain; empty: all. */
    readonly filter: string;
    readonly editingFilter: boolean;
    /** Following: the newest lines are shown. Paused: the view stays at `anchorSeq`. */
    readonly follow: boolean;
    /** The seq of the bottom line while paused. */
    readonly anchorSeq: number | undefined;
    readonly help: boolean;
    readonly prompt: Prompt | undefined;
    readonly message: { readonly text: string; readonly level: 'info' | 'error' } | undefined;
  };
}

/** A reading of the engine: the environment's containers with their details and stats. */
export interface EngineSnapshot {
  readonly at: number;
  /** Declared services without a container are listed as `not created`. */
  readonly declared: readonly string[];
  readonly containers: ReadonlyArray<Omit<ServiceView, 'key'>>;
}

export type MonitorEvent =
  | { type: 'engine'; snapshot: EngineSnapshot }
  | { type: 'engine-error'; at: number; message: string }
  | { type: 'logs'; lines: ReadonlyArray<{ service: string; stream: 'stdout' | 'stderr'; time: string | undefined; text: string }> }
  | { type: 'release'; release: ReleaseView | undefined }
  /** `at`: ms when the proxy was read (rates are per second between readings). */
  | { type: 'proxy'; at: number; proxy: ProxyView | undefined; error: string | undefined }
  | { type: 'pipeline'; pipeline: PipelineView | undefined }
  | { type: 'message'; text: string; level: 'info' | 'error' }
  | { type: 'focus'; delta: 1 | -1 }
  | { type: 'select'; delta: number }
  | { type: 'scroll'; delta: number }
  | { type: 'toggle-follow' }
  | { type: 'toggle-log-service' }
  | { type: 'filter-start' }
  | { type: 'filter-input'; text: string }
  | { type: 'filter-backspace' }
  | { type: 'filter-end'; keep: boolean }
  | { type: 'clear-filters' }
  | { type: 'help'; open: boolean }
  | { type: 'prompt'; prompt: Prompt | undefined };

export function initialMonitorState(project: string, env: string): MonitorState {
  return {
    project: sanitizeLine(project),
    env: sanitizeLine(env),
    observedAt: 0,
    services: [],
    engineError: undefined,
    logs: { lines: [], nextSeq: 1, dropped: 0 },
    release: undefined,
    proxy: undefined,
    proxyTrend: undefined,
    proxyError: undefined,
    pipeline: undefined,
    ui: {
      focus: 'services',
      selected: undefined,
      logService: undefined,
      filter: '',
      editingFilter: false,
      follow: true,
      anchorSeq: undefined,
      help: false,
      prompt: undefined,
      message: undefined,
    },
  };
}

export function foldMonitor(state: MonitorState, event: MonitorEvent): MonitorState {
  switch (event.type) {
    case 'engine': {
      const services = servicesOf(event.snapshot);
      const selected = services.some((service) => service.key === state.ui.selected) ? state.ui.selected : services[0]?.key;
      // The same containers read again within the same second: nothing on screen would change.
      if (state.engineError === undefined && sameJson(services, state.services) && selected === state.ui.selected && Math.floor(event.snapshot.at / 1000) === Math.floor(state.observedAt / 1000)) return state;
      return { ...state, observedAt: event.snapshot.at, services, engineError: undefined, ui: selected === state.ui.selected ? state.ui : { ...state.ui, selected } };
    }
    case 'engine-error': {
      const message = sanitizeLine(event.message);
      return message === state.engineError ? state : { ...state, engineError: message };
    }
    case 'logs':
      return appendLogs(state, event.lines);
    case 'release': {
      const release = event.release === undefined ? undefined : sanitizeRelease(event.release);
      if (sameJson(release, state.release)) return state;
      const focus = release === undefined && state.ui.focus === 'release' ? 'services' : state.ui.focus;
      const sameRelease = release?.id === state.release?.id;
      return {
        ...state,
        release,
        proxy: sameRelease ? state.proxy : undefined,
        proxyTrend: sameRelease ? state.proxyTrend : undefined,
        ui: focus === state.ui.focus ? state.ui : { ...state.ui, focus },
      };
    }
    case 'proxy': {
      const error = event.error === undefined ? undefined : sanitizeLine(event.error);
      const proxyTrend = event.proxy === undefined ? undefined : nextTrend(state.proxyTrend, event.proxy, event.at);
      // Series that did not change (an idle proxy whose windows are full) keep the older reading as
      // the base: the next interval spans both, its rate an average over them, and no frame is drawn.
      if (sameJson(event.proxy, state.proxy) && error === state.proxyError && sameSeries(proxyTrend, state.proxyTrend)) return state;
      return { ...state, proxy: event.proxy, proxyTrend, proxyError: error };
    }
    case 'pipeline': {
      const pipeline = event.pipeline === undefined ? undefined : sanitizePipeline(event.pipeline);
      return sameJson(pipeline, state.pipeline) ? state : { ...state, pipeline };
    }
    case 'message':
      return withUi(state, { message: { text: sanitizeLine(event.text), level: event.level } });
    case 'focus': {
      const panes = focusablePanes(state);
      const index = panes.indexOf(state.ui.focus);
      return withUi(state, { focus: panes[(index + event.delta + panes.length) % panes.length] ?? 'services' });
    }
    case 'select': {
      if (state.services.length === 0) return state;
      const index = Math.max(0, state.services.findIndex((service) => service.key === state.ui.selected));
      const next = Math.min(state.services.length - 1, Math.max(0, index + event.delta));
      return withUi(state, { selected: state.services[next]?.key });
    }
    case 'scroll':
      return scrollLogs(state, event.delta);
    case 'toggle-follow': {
      if (!state.ui.follow) return withUi(state, { follow: true, anchorSeq: undefined });
      return withUi(state, { follow: false, anchorSeq: matchingLogLines(state).at(-1)?.seq });
    }
    case 'toggle-log-service': {
      const selected = selectedService(state);
      if (selected === undefined) return state;
      const service = logSourceName(selected.service, selected.slot);
      return withUi(state, { logService: state.ui.logService === service ? undefined : service, follow: true, anchorSeq: undefined });
    }
    case 'filter-start':
      return withUi(state, { editingFilter: true, help: false });
    case 'filter-input':
      return state.ui.editingFilter ? withUi(state, { filter: state.ui.filter + sanitizeLine(event.text).replace(/\t/g, ' ') }) : state;
    case 'filter-backspace':
      return state.ui.editingFilter ? withUi(state, { filter: [...state.ui.filter].slice(0, -1).join('') }) : state;
    case 'filter-end':
      return withUi(state, { editingFilter: false, filter: event.keep ? state.ui.filter : '', follow: true, anchorSeq: undefined });
    case 'clear-filters':
      return withUi(state, { filter: '', logService: undefined, follow: true, anchorSeq: undefined, message: undefined });
    case 'help':
      return withUi(state, { help: event.open });
    case 'prompt':
      return withUi(state, { prompt: event.prompt, message: event.prompt === undefined ? state.ui.message : undefined });
  }
}

export interface MonitorStore {
  state(): MonitorState;
  dispatch(event: MonitorEvent): void;
  /** Called after every change of state; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

/** A store over the pure fold: state in one place, listeners told after each change. */
export function createMonitorStore(initial: MonitorState, fold: (state: MonitorState, event: MonitorEvent) => MonitorState = foldMonitor): MonitorStore {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    state: () => state,
    dispatch(event) {
      const next = fold(state, event);
      if (next === state) return;
      state = next;
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** How a container's log lines are labelled: the service, and a release slot after a colon (`web:canary`). */
export function logSourceName(service: string, slot: string | undefined): string {
  return slot ? `${service}:${slot}` : service;
}

/** Panes Tab moves through: the release panel only when there is a release. */
export function focusablePanes(state: MonitorState): Pane[] {
  return state.release === undefined ? ['services', 'logs'] : ['services', 'logs', 'release'];
}

export function selectedService(state: MonitorState): ServiceView | undefined {
  return state.services.find((service) => service.key === state.ui.selected);
}

/** The buffered lines that pass the service and text filters, oldest first. */
export function matchingLogLines(state: MonitorState): readonly LogEntry[] {
  const { logService, filter } = state.ui;
  if (logService === undefined && filter === '') return state.logs.lines;
  const needle = filter.toLowerCase();
  return state.logs.lines.filter((line) => (logService === undefined || line.service === logService) && (needle === '' || line.text.toLowerCase().includes(needle)));
}

/** What the log pane shows in `height` rows: the newest matching lines, or those up to the anchor when paused. */
export function visibleLogLines(state: MonitorState, height: number): readonly LogEntry[] {
  const rows = Math.max(0, Math.floor(height));
  if (rows === 0) return [];
  const matching = matchingLogLines(state);
  if (state.ui.follow || state.ui.anchorSeq === undefined) return matching.slice(-rows);
  const bottom = lastIndexAtOrBefore(matching, state.ui.anchorSeq);
  return matching.slice(Math.max(0, bottom + 1 - rows), bottom + 1);
}

/** CPU use between two readings, % of one core (so 200 = two cores busy); undefined when not computable. */
export function cpuPercent(
  previous: { cpuTotalNs: number; systemCpuNs: number } | undefined,
  current: { cpuTotalNs: number; systemCpuNs: number; onlineCpus: number },
): number | undefined {
  if (previous === undefined) return undefined;
  const cpu = current.cpuTotalNs - previous.cpuTotalNs;
  const system = current.systemCpuNs - previous.systemCpuNs;
  if (cpu < 0 || system <= 0) return undefined;
  return (cpu / system) * current.onlineCpus * 100;
}

export type Availability<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Whether `r`, `a`, `p` or `b` can be asked now, and the question to ask. Pure: the monitor then asks y/n. */
export function promptFor(state: MonitorState, action: PromptAction): Availability<Prompt> {
  if (action === 'restart') {
    const service = selectedService(state);
    if (service === undefined || service.containerId === undefined) return { ok: false, reason: 'no container selected to restart' };
    const name = service.slot ? `${service.service} (${service.slot})` : service.service;
    return { ok: true, value: { action, question: `restart ${name} (container ${service.container ?? ''})?`, containerId: service.containerId, service: name } };
  }
  const release = state.release;
  if (release === undefined) return { ok: false, reason: 'no release of this environment' };
  if (action === 'approve') {
    if (release.status !== 'gate') return { ok: false, reason: `release ${release.id} is ${release.status}: no gate waits for approval` };
    if (!release.controllerRunning) return { ok: false, reason: `no controller runs for ${release.id}: run \`envctl release approve\` (it continues the release)` };
    return { ok: true, value: { action, question: `approve the gate of ${release.id} (${release.service}, step ${release.step})?`, releaseId: release.id } };
  }
  if (action === 'promote') return promotePrompt(release);
  if (release.status === 'promoted' || CONTROLLED_STATUSES.has(release.status)) {
    const what = release.status === 'promoted' ? 'production goes back to the previous version' : 'the release is aborted, production only';
    return { ok: true, value: { action, question: `roll back ${release.id} (${release.service}): ${what}?`, releaseId: release.id } };
  }
  return { ok: false, reason: `release ${release.id} is ${release.status}: nothing to roll back` };
}

/**
 * Whether approving the release's gate promotes it: the judge holds it before promotion (a manual
 * gate `before: promote`), it waits at its last step, or it paused on a finished step the judge did
 * not pass (`onRegression: pause`, inconclusive), where approval promotes over the verdict.
 */
export function waitsForPromotion(release: ReleaseView): boolean {
  if (release.status !== 'gate') return false;
  if (release.verdict?.gateBefore === 'promote') return true;
  if (release.verdict?.gateBefore === undefined && (release.verdict?.action === 'rollback' || release.verdict?.action === 'inconclusive')) return true;
  return release.steps !== undefined && release.step >= release.steps;
}

/** `p`: the approval of a gate before promotion, or why the release cannot be promoted now. */
function promotePrompt(release: ReleaseView): Availability<Prompt> {
  const at = release.steps === undefined ? `step ${release.step}` : `step ${release.step} of ${release.steps}`;
  if (waitsForPromotion(release)) {
    if (!release.controllerRunning) return { ok: false, reason: `no controller runs for ${release.id}: run \`envctl release approve ${release.id}\` (it promotes the release)` };
    const over = release.verdict?.action === 'rollback' || release.verdict?.action === 'inconclusive' ? ` over the judge's verdict (${release.verdict.action})` : '';
    return { ok: true, value: { action: 'promote', question: `promote ${release.id} (${release.service}, ${at})${over}: the canary takes all traffic?`, releaseId: release.id } };
  }
  if (release.status === 'gate') return { ok: false, reason: `the release waits at a gate at ${at}, before its next step: promotion follows the last step; \`a\` approves this gate` };
  if (release.status === 'preparing' || release.status === 'running') {
    return { ok: false, reason: `the release is at ${at}: promotion follows the last step; \`a\` approves a waiting gate` };
  }
  if (release.status === 'promoted') return { ok: false, reason: `release ${release.id} is already promoted` };
  return { ok: false, reason: `release ${release.id} is ${release.status}: it has ended, nothing to promote` };
}

/**
 * The weights after a `+`/`-` nudge of the canary, in manual mode only: the release has ended (no
 * controller drives the weights) and the proxy still runs with the arms it needs. The baseline
 * keeps its share where it can; production takes the rest.
 */
export function nudgedWeights(state: MonitorState, delta: number): Availability<{ socket: string; weights: Weights }> {
  const release = state.release;
  if (release === undefined) return { ok: false, reason: 'no release of this environment: the canary weight belongs to a release' };
  if (CONTROLLED_STATUSES.has(release.status)) return { ok: false, reason: `release ${release.id} is ${release.status}: its controller sets the weights (manual weights after it ends)` };
  if (release.adminSocket === undefined || state.proxy === undefined) return { ok: false, reason: `the release proxy of ${release.id} does not answer` };
  const current = state.proxy.weights;
  const canary = Math.min(100, Math.max(0, current.canary + delta));
  if (canary === current.canary) return { ok: false, reason: `the canary weight is already ${canary}%` };
  if (canary > 0 && !release.arms.canary) return { ok: false, reason: `release ${release.id} has no canary container any more (${release.status})` };
  const baseline = release.arms.baseline ? Math.min(current.baseline, 100 - canary) : 0;
  const prod = 100 - canary - baseline;
  if (prod > 0 && !release.arms.prod) return { ok: false, reason: `the previous production container of ${release.id} is gone (${release.status})` };
  return { ok: true, value: { socket: release.adminSocket, weights: { canary, baseline, prod } } };
}


/** Error-looking log lines: a level word or field (`ERROR`, `"level":"error"`, pino's 50/60), a panic, an exception. */
const ERROR_LINE = /\b(error|err|fatal|panic|exception|critical|crit)\b|"level"\s*:\s*(50|60)\b|\b(uncaught|unhandled)\b/i;

export function isErrorLine(text: string): boolean {
  return ERROR_LINE.test(text);
}

const NO_ARMS = { canary: 0, baseline: 0, prod: 0 } as const;

/** The trend after one more proxy reading; counters that went down (a restarted proxy) start over. */
function nextTrend(previous: ProxyTrend | undefined, proxy: ProxyView, at: number): ProxyTrend {
  const totals = {
    canary: { requests: proxy.arms.canary.requests, bad: proxy.arms.canary.bad },
    baseline: { requests: proxy.arms.baseline.requests, bad: proxy.arms.baseline.bad },
    prod: { requests: proxy.arms.prod.requests, bad: proxy.arms.prod.bad },
  };
  const seconds = previous === undefined ? 0 : (at - previous.at) / 1000;
  if (previous === undefined || seconds <= 0) return { at, totals, ...EMPTY_SERIES, recentBad: { ...NO_ARMS } };
  const arm = (name: Arm) => {
    const requests = totals[name].requests - previous.totals[name].requests;
    const bad = totals[name].bad - previous.totals[name].bad;
    if (requests < 0 || bad < 0) return { rates: [] as number[], errorPercents: [] as Array<number | null>, p99Ms: [] as Array<number | null>, bad: 0 };
    return {
      rates: [...previous.rates[name], requests / seconds].slice(-TREND_POINTS),
      errorPercents: [...previous.errorPercents[name], requests > 0 ? (bad / requests) * 100 : null].slice(-TREND_POINTS),
      p99Ms: [...previous.p99Ms[name], proxy.arms[name].stepP99Ms ?? null].slice(-TREND_POINTS),
      bad,
    };
  };
  const arms = { canary: arm('canary'), baseline: arm('baseline'), prod: arm('prod') };
  const each = <K extends 'rates' | 'errorPercents' | 'p99Ms'>(key: K) => ({ canary: arms.canary[key], baseline: arms.baseline[key], prod: arms.prod[key] });
  return { at, totals, rates: each('rates'), errorPercents: each('errorPercents'), p99Ms: each('p99Ms'), recentBad: { canary: arms.canary.bad, baseline: arms.baseline.bad, prod: arms.prod.bad } };
}

const EMPTY_SERIES = {
  rates: { canary: [], baseline: [], prod: [] },
  errorPercents: { canary: [], baseline: [], prod: [] },
  p99Ms: { canary: [], baseline: [], prod: [] },
} as const satisfies Pick<ProxyTrend, 'rates' | 'errorPercents' | 'p99Ms'>;

function sameSeries(a: ProxyTrend | undefined, b: ProxyTrend | undefined): boolean {
  return sameJson(a?.rates, b?.rates) && sameJson(a?.errorPercents, b?.errorPercents) && sameJson(a?.p99Ms, b?.p99Ms);
}

/**
 * A small chart of the values, one block character each, scaled from 0 to the largest or to
 * `floor` if that is larger (all zero: the lowest block). A value above zero never draws the
 * lowest block, so any error shows; null (nothing measured) draws a space.
 */
export function sparkline(values: ReadonlyArray<number | null>, floor = 0): string {
  const blocks = '▁▂▃▄▅▆▇█';
  const top = blocks.length - 1;
  const max = Math.max(floor, 0, ...values.map((value) => value ?? 0));
  return values
    .map((value) => {
      if (value === null) return ' ';
      if (max <= 0 || value <= 0) return blocks[0];
      return blocks[Math.max(1, Math.min(top, Math.round((value / max) * top)))];
    })
    .join('');
}

function appendLogs(state: MonitorState, incoming: Extract<MonitorEvent, { type: 'logs' }>['lines']): MonitorState {
  let seq = state.logs.nextSeq;
  const added: LogEntry[] = [];
  // Within a batch, lines of several containers merge by the engine's timestamp (stable otherwise).
  const ordered = incoming.every((line) => line.time !== undefined) ? [...incoming].sort((a, b) => compareLogTimes(a.time!, b.time!)) : incoming;
  for (const line of ordered) {
    const text = expandTabs(sanitizeLine(line.text)).slice(0, LOG_LINE_MAX_CHARS);
    if (text.trim() === '') continue;
    added.push({ seq, service: sanitizeLine(line.service), stream: line.stream, time: clockTime(line.time), text, error: isErrorLine(text) });
    seq += 1;
  }
  if (added.length === 0) return state;
  const all = state.logs.lines.length + added.length > LOG_BUFFER_LINES ? [...state.logs.lines, ...added].slice(-LOG_BUFFER_LINES) : [...state.logs.lines, ...added];
  const dropped = state.logs.dropped + state.logs.lines.length + added.length - all.length;
  return { ...state, logs: { lines: all, nextSeq: seq, dropped } };
}

function scrollLogs(state: MonitorState, delta: number): MonitorState {
  const matching = matchingLogLines(state);
  if (matching.length === 0) return state;
  const bottom = state.ui.follow || state.ui.anchorSeq === undefined ? matching.length - 1 : lastIndexAtOrBefore(matching, state.ui.anchorSeq);
  const next = Math.max(0, Math.min(matching.length - 1, bottom + delta));
  if (next === matching.length - 1 && delta > 0) return withUi(state, { follow: true, anchorSeq: undefined });
  return withUi(state, { follow: false, anchorSeq: matching[next]?.seq });
}

function lastIndexAtOrBefore(lines: readonly LogEntry[], seq: number): number {
  for (let index = lines.length - 1; index >= 0; index -= 1) if (lines[index]!.seq <= seq) return index;
  // The anchor left the buffer: the oldest line still there.
  return Math.min(0, lines.length - 1);
}

function servicesOf(snapshot: EngineSnapshot): ServiceView[] {
  const rows: ServiceView[] = snapshot.containers.map((container) => ({
    ...container,
    service: sanitizeLine(container.service),
    slot: container.slot === undefined ? undefined : sanitizeLine(container.slot),
    container: container.container === undefined ? undefined : sanitizeLine(container.container),
    image: container.image === undefined ? undefined : sanitizeLine(container.image),
    health: container.health === undefined ? undefined : sanitizeLine(container.health),
    key: sanitizeLine(container.container ?? container.service),
  }));
  const present = new Set(rows.map((row) => row.service));
  for (const name of snapshot.declared) {
    const service = sanitizeLine(name);
    if (present.has(service)) continue;
    rows.push(notCreated(service));
  }
  // Declared order first (the definition's), then anything else; a service's own container before its release slots.
  const order = new Map(snapshot.declared.map((name, index) => [sanitizeLine(name), index]));
  return rows.sort(
    (a, b) =>
      (order.get(a.service) ?? Number.MAX_SAFE_INTEGER) - (order.get(b.service) ?? Number.MAX_SAFE_INTEGER) ||
      a.service.localeCompare(b.service) ||
      (a.slot ?? '').localeCompare(b.slot ?? '') ||
      a.key.localeCompare(b.key),
  );
}

function notCreated(service: string): ServiceView {
  return {
    key: service,
    service,
    slot: undefined,
    containerId: undefined,
    container: undefined,
    state: 'not created',
    health: undefined,
    startedAt: undefined,
    restarts: undefined,
    exitCode: undefined,
    cpuPercent: undefined,
    memoryBytes: undefined,
    memoryLimitBytes: undefined,
    ports: [],
    image: undefined,
  };
}

function sanitizeRelease(release: ReleaseView): ReleaseView {
  return {
    ...release,
    id: sanitizeLine(release.id),
    service: sanitizeLine(release.service),
    status: sanitizeLine(release.status),
    outcome: release.outcome === undefined ? undefined : sanitizeLine(release.outcome),
    gate: release.gate === undefined ? undefined : { reason: sanitizeLine(release.gate.reason), since: sanitizeLine(release.gate.since), timeoutAt: sanitizeLine(release.gate.timeoutAt) },
    verdict: release.verdict === undefined ? undefined : { action: sanitizeLine(release.verdict.action), reasons: release.verdict.reasons.map(sanitizeLine), gateBefore: release.verdict.gateBefore },
  };
}

function sanitizePipeline(pipeline: PipelineView): PipelineView {
  return {
    id: sanitizeLine(pipeline.id),
    status: sanitizeLine(pipeline.status),
    startedAt: sanitizeLine(pipeline.startedAt),
    stages: pipeline.stages.map((stage) => ({
      name: sanitizeLine(stage.name),
      status: stage.status,
      durationMs: stage.durationMs,
      detail: stage.detail === undefined ? undefined : sanitizeLine(stage.detail),
    })),
  };
}

function withUi(state: MonitorState, changes: Partial<MonitorState['ui']>): MonitorState {
  const keys = Object.keys(changes) as Array<keyof MonitorState['ui']>;
  if (keys.every((key) => state.ui[key] === changes[key])) return state;
  return { ...state, ui: { ...state.ui, ...changes } };
}

/**
 * Orders two engine timestamps (RFC 3339 in UTC with up to 9 fraction digits; the engine drops
 * trailing zeros, so `…20.15Z` and `…20.151550375Z` do not compare as plain strings).
 */
export function compareLogTimes(a: string, b: string): number {
  const key = (time: string) => time.replace(/(?:\.(\d{1,9}))?Z$/, (_, fraction: string | undefined) => `.${(fraction ?? '').padEnd(9, '0')}Z`);
  const left = key(a);
  const right = key(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** `2026-11-26T12:47:20.151550375Z` → `12:47:20` (UTC, as the engine stamps it). */
function clockTime(time: string | undefined): string {
  if (time === undefined) return '';
  const match = /T(\d\d:\d\d:\d\d)/.exec(time);
  return match?.[1] ?? '';
}

function sameJson(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
