import { Flags } from '@oclif/core';
import { EnvctlCommand } from '../../cli/base-command.js';
import { loadDefinition } from '../../definition/resolve.js';
import type { RouteSplit, RouteSplitPage } from '../../proxy/admin-client.js';
import { formatWeights, splitTotal } from '../../proxy/routing.js';
import { ARMS, type Arm, type Weights } from '../../proxy/types.js';
import type { ReleaseStatus } from '../../release/store.js';
import { sanitizeLine } from '../../ui/sanitize.js';
import { askProxy, findReleaseProxy, proxyFlags, renderTable } from './status.js';

/** One route's split with its shares: percent of the weighted records (overrides apart), 0.1 precision; null when it has none. */
export interface RouteShareRow extends RouteSplit {
  requests: number;
  share: Record<Arm, number> | null;
}

export interface ProxyRoutesOutput {
  release: string;
  releaseStatus: ReleaseStatus;
  url: string;
  /** The step shown. */
  step: number;
  /** The proxy's step and weights now (the shares of the current step should match them per route). */
  current: { step: number; weights: Weights };
  routes: RouteShareRow[];
  otherRoutes: Omit<RouteShareRow, 'routeKey'> | null;
}

export default class ProxyRoutesCommand extends EnvctlCommand {
  static override summary = 'Show the per-route split: for each route key, the requests per arm and their share in a step.';
  static override description =
    'The proxy splits every route key (method + path template, e.g. GET /api/items/:id) by the weights on its own, so each route’s shares match the weights. Counts are records of one step (default: the current one); overrides (X-Envctl-Target, envctl_target) and retries on another arm are counted apart and are not in the shares. The controller changes weights and step together; a change by hand (`proxy weights --set`) keeps the step, so that step’s counts then mix both splits.';
  static override examples = ['<%= config.bin %> proxy routes', '<%= config.bin %> proxy routes --step 1 --json'];
  static override flags = {
    ...proxyFlags,
    step: Flags.integer({ description: 'the step to show (default: the current one)', min: 0 }),
  };

  async run(): Promise<ProxyRoutesOutput> {
    const { flags } = await this.parse(ProxyRoutesCommand);
    const model = await loadDefinition(this.loadOptions(flags, ['*']));
    const target = await findReleaseProxy(model, flags.release);
    const status = await askProxy(target, (admin) => admin.status());
    const page = await askProxy(target, (admin) => admin.routes(flags.step));
    const output: ProxyRoutesOutput = {
      release: target.release.id,
      releaseStatus: target.release.status,
      url: target.url,
      step: page.step,
      current: { step: status.step, weights: status.weights },
      ...withShares(page),
    };
    if (!this.jsonEnabled()) process.stdout.write(renderRoutes(output));
    return output;
  }
}

export function withShares(page: RouteSplitPage): Pick<ProxyRoutesOutput, 'routes' | 'otherRoutes'> {
  const row = <T extends Omit<RouteSplit, 'routeKey'>>(counts: T): T & { requests: number; share: Record<Arm, number> | null } => {
    const weighted = counts.arms.canary + counts.arms.baseline + counts.arms.prod;
    const share = weighted === 0 ? null : (Object.fromEntries(ARMS.map((arm) => [arm, Math.round((counts.arms[arm] / weighted) * 1000) / 10])) as Record<Arm, number>);
    return { ...counts, requests: splitTotal(counts), share };
  };
  return { routes: page.routes.map(row), otherRoutes: page.otherRoutes ? row(page.otherRoutes) : null };
}

function renderRoutes(output: ProxyRoutesOutput): string {
  const isCurrent = output.step === output.current.step;
  const header = `release ${output.release} (${output.releaseStatus}), step ${output.step}${isCurrent ? `: weights ${formatWeights(output.current.weights)}` : ` (now step ${output.current.step})`}`;
  const all = [...output.routes, ...(output.otherRoutes ? [{ routeKey: '(other routes)', ...output.otherRoutes }] : [])];
  if (all.length === 0) return `${header}\nno requests in step ${output.step} yet\n`;
  const cell = (route: RouteShareRow, arm: Arm): string => `${route.arms[arm]}${route.share ? ` (${route.share[arm].toFixed(1)}%)` : ''}`;
  const rows = [
    ['route', 'requests', ...ARMS, 'override'],
    ...all.map((route) => [sanitizeLine(route.routeKey), String(route.requests), ...ARMS.map((arm) => cell(route, arm)), String(route.override)]),
  ];
  return `${[header, ...renderTable(rows)].join('\n')}\n`;
}
