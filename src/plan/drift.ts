/**
 * `envctl drift`: what differs between the definition and what runs, read off the plan `up` would
 * make (create: missing; recreate: which fields changed; start: stopped; stray and orphan
 * containers) plus what the plan cannot see: a container whose image reference now names another
 * image (rebuilt or retagged since the container was created). Pure: plan, containers and the
 * current image IDs in, a report out; its text form is what the unit tests assert on.
 */
import type { ObservedContainer } from '../engine/types.js';
import type { Plan, PlanAction } from './plan.js';

export type DriftKind =
  /** In the definition, not in the engine. */
  | 'missing'
  /** The definition changed since the container (network, volume) was created: the config hash differs. */
  | 'changed'
  /** The container is not running (stopped, paused, restarting, dead): changed outside envctl. */
  | 'state'
  /** The container runs another image than its reference names now. */
  | 'image'
  /** A second container of a service (left by an interrupted run, or renamed by hand). */
  | 'stray'
  /** In the engine, labelled as this environment's, not in the definition. */
  | 'orphan';

export interface DriftItem {
  kind: DriftKind;
  subject: 'service' | 'network' | 'volume';
  name: string;
  /** The container concerned, when there is one. */
  container?: string;
  /** `changed` services: the fields whose definition differs from what the container was created from. */
  fields?: string[];
  /** `image`: the reference, the image the container runs and the one the reference names now (absent: gone). */
  image?: { ref: string; running: string; current: string | null };
  detail: string;
}

export interface DriftReport {
  project: string;
  env: string;
  drifted: boolean;
  items: DriftItem[];
  /** Services whose container matches the definition and runs. */
  inSync: string[];
  warnings: string[];
}

export interface DriftInput {
  plan: Plan;
  /** The containers the plan was made against (for the image each runs). */
  containers: readonly ObservedContainer[];
  /** Image reference → the image ID it names now (a reference missing here no longer exists). */
  imageIds: ReadonlyMap<string, string>;
}

export function classifyDrift({ plan, containers, imageIds }: DriftInput): DriftReport {
  const items: DriftItem[] = [];
  const inSync: string[] = [];
  const byId = new Map(containers.map((container) => [container.id, container]));
  const rebuilt = new Set(plan.actions.flatMap((action) => (action.kind === 'build' ? [action.service] : [])));

  for (const action of plan.actions) {
    const found = classifyAction(action, rebuilt);
    if (found) items.push(found);
    if (action.subject !== 'service' || !('hash' in action) || action.kind === 'create') continue;
    // The plan compares configuration; the image an unchanged reference names is checked here.
    const imageChanged = action.kind === 'recreate' && action.changed.includes('image');
    const running = byId.get(action.containerId)?.imageId;
    const current = imageIds.get(action.image) ?? null;
    if (!imageChanged && running !== undefined && running !== current) {
      items.push({
        kind: 'image',
        subject: 'service',
        name: action.name,
        container: action.containerName,
        image: { ref: action.image, running, current },
        detail: current === null ? `runs ${shortId(running)}; ${action.image} no longer exists in the engine` : `runs ${shortId(running)}; ${action.image} is now ${shortId(current)} (rebuilt or retagged)`,
      });
    } else if (action.kind === 'keep') {
      inSync.push(action.name);
    }
  }
  return { project: plan.project, env: plan.env, drifted: items.length > 0, items, inSync, warnings: plan.warnings };
}

function classifyAction(action: PlanAction, rebuilt: ReadonlySet<string>): DriftItem | undefined {
  switch (action.kind) {
    case 'build':
    case 'external':
      // A changed build shows as the service's `image` field; external objects are not envctl's.
      return undefined;
    case 'keep':
      // The planner keeps a network or volume whose configuration changed, and says so in its reason.
      return action.subject !== 'service' && action.reason !== 'exists'
        ? { kind: 'changed', subject: action.subject, name: action.name, detail: 'its configuration changed in the definition (kept as created)' }
        : undefined;
    case 'create':
      return action.subject === 'service'
        ? { kind: 'missing', subject: 'service', name: action.name, container: action.containerName, detail: 'no container' }
        : { kind: 'missing', subject: action.subject, name: action.name, detail: `no ${action.subject}` };
    case 'recreate': {
      const base = { subject: 'service' as const, name: action.name, container: action.containerName };
      if (action.changed.length > 0) {
        const fields = action.changed.map((field) => (field === 'image' && rebuilt.has(action.name) ? 'image (build inputs changed)' : field));
        return { ...base, kind: 'changed', fields: [...action.changed], detail: `definition changed since the container was created: ${fields.join(', ')}` };
      }
      if (action.reason === 'config hash differs') return { ...base, kind: 'changed', fields: [], detail: 'config hash differs (created by another envctl version?)' };
      return { ...base, kind: 'state', detail: action.reason };
    }
    case 'start':
      return { kind: 'state', subject: 'service', name: action.name, container: action.containerName, detail: `${action.reason} (stopped outside envctl)` };
    case 'remove-stale':
      return { kind: 'stray', subject: 'service', name: action.name, container: action.containerName, detail: action.reason };
    case 'orphan':
    case 'remove':
      return action.subject === 'service'
        ? { kind: 'orphan', subject: 'service', name: action.name, container: action.containerName, detail: `container ${action.containerName} is not in the definition` }
        : { kind: 'orphan', subject: action.subject, name: action.name, detail: `${action.subject} ${action.name} is not in the definition` };
  }
}

/** `sha256:0123456789ab…` → `sha256:0123456789ab`, as `docker images` shows it. */
function shortId(id: string): string {
  return id.replace(/^(sha256:)?([0-9a-f]{12})[0-9a-f]*$/, (_, prefix: string | undefined, hex: string) => `${prefix ?? ''}${hex}`);
}

/** The report as `envctl drift` prints it; also the oracle of the unit tests. */
export function renderDriftText(report: DriftReport): string {
  const label = (item: DriftItem) => (item.subject === 'service' ? item.name : `${item.subject} ${item.name}`);
  const width = Math.max(0, ...report.items.map((item) => label(item).length));
  const lines = [`drift for ${report.project} (env ${report.env})`];
  for (const item of report.items) lines.push(`  ${item.kind.padEnd(8)} ${label(item).padEnd(width)}  ${item.detail}`);
  if (report.inSync.length > 0) lines.push(`  in sync: ${report.inSync.join(', ')}`);
  for (const warning of report.warnings) lines.push(`  warning: ${warning}`);
  lines.push(report.drifted ? `summary: ${report.items.length} drifted, ${report.inSync.length} in sync` : 'summary: in sync with the definition');
  return `${lines.join('\n')}\n`;
}
