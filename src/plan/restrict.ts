/**
 * A plan narrowed to some services (`envctl feature enable|disable` converges only the services
 * that declare the toggle). Pure. Other services are left exactly as they run: their actions are
 * dropped (not turned into waits), and the kept services no longer wait for them; networks and
 * volumes the kept services need are still created. What else the full plan would change is
 * reported as held back, for `envctl up`.
 */
import type { Plan, PlanAction } from './plan.js';

export interface RestrictedPlan {
  plan: Plan;
  /** Services outside the selection that the full plan would change (create, recreate, start, remove a stray). */
  heldBack: string[];
}

export function restrictPlan(plan: Plan, services: ReadonlySet<string>): RestrictedPlan {
  const heldBack = new Set<string>();
  const actions: PlanAction[] = [];
  for (const action of plan.actions) {
    if (action.kind === 'build') {
      if (services.has(action.service)) actions.push(action);
      continue;
    }
    if (action.subject === 'network' || action.subject === 'volume') {
      // Orphans and their removal belong to `up --remove-orphans`.
      if (action.kind !== 'orphan' && action.kind !== 'remove') actions.push(action);
      continue;
    }
    if (action.kind === 'orphan' || action.kind === 'remove') continue;
    if (!services.has(action.name)) {
      if (action.kind !== 'keep') heldBack.add(action.name);
      continue;
    }
    actions.push('after' in action ? { ...action, after: action.after.filter((dependency) => services.has(dependency)) } : action);
  }
  return { plan: { ...plan, actions }, heldBack: [...heldBack] };
}
