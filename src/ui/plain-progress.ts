/**
 * Progress as plain lines, for logs and CI (no TTY or `CI=true`): no colour, no cursor movement,
 * at most one line per event. The format is stable so it can be grepped; change it only on purpose.
 *
 *   <op> <project>[ (env <env>)]                     an operation starts        up shop (env local)
 *   <service>  <phase>[ (<elapsed>)][: <detail>]     a service changes phase    web  healthy (4.2s)
 *                                                                               db  failed: unhealthy: pg_isready: no response
 *   <service>  | <line>                              build output               web  | Step 1/4 : FROM node
 *   <kind> <name> <action>                           network/volume/container   network shop_default created
 *   warning: <message>                               a warning                  warning: port 8080 is published on all interfaces
 *   done: <summary> | failed: <summary> | cancelled: <summary>                  done: 3 services up
 *
 * - The service name is followed by exactly two spaces: `grep '^web  '` finds one service.
 * - <phase> is the words of the live view: `waiting for dependencies`, `waiting for health`, …
 * - <elapsed> is the time since the service's work began (`4.2s`, `1m05s`), shown on the phases
 *   that end work well: built, healthy, running, completed, removed.
 * - `pending` is not printed, nor an event that repeats a service's phase and detail, nor build
 *   output that is empty once sanitised.
 * - Everything from containers and builds is sanitised (no escape sequences or control characters
 *   except tab) and folded onto one line.
 */
import type { EnvctlEvent } from '../events.js';
import type { ProgressState } from './progress-store.js';
import { phaseStatus } from './progress-store.js';
import { formatElapsed, operationTitle, phaseWords, serviceTiming } from './progress-text.js';
import { sanitizeLine } from './sanitize.js';

/**
 * The plain lines (without newline) for one event. `before` and `after` are the folded state
 * around the event: the lines are about the change, and text comes from the (sanitised) state.
 */
export function plainProgressLines(event: EnvctlEvent, before: ProgressState, after: ProgressState): string[] {
  switch (event.type) {
    case 'operation':
      return after.operation === undefined ? [] : [operationTitle(after.operation)];
    case 'service': {
      const name = sanitizeLine(event.service);
      const previous = before.services.find((service) => service.name === name);
      const current = after.services.find((service) => service.name === name);
      if (current === undefined || current.phase === 'pending') return [];
      if (previous !== undefined && previous.phase === current.phase && previous.detail === current.detail) return [];
      const timing = serviceTiming(current, after, event.at);
      const elapsed = phaseStatus(current.phase) === 'ready' || current.phase === 'built' ? timing : undefined;
      return [statusLine(current.name, phaseWords(current.phase), elapsed?.total, current.detail)];
    }
    case 'build-log': {
      const line = sanitizeLine(event.line);
      return line === '' ? [] : [`${sanitizeLine(event.service)}  | ${line}`];
    }
    case 'resource':
      return [`${event.kind} ${sanitizeLine(event.name)} ${event.action}`];
    case 'warning':
      return [`warning: ${sanitizeLine(event.message)}`];
    case 'done':
      return [outcomeLine(event)];
  }
}

/** `<name>  <words>[ (<elapsed>)][: <detail>]`: a service's phase, a pipeline stage's status. */
export function statusLine(name: string, words: string, elapsedMs: number | undefined, detail: string | undefined): string {
  return (
    `${name}  ${words}` +
    (elapsedMs === undefined ? '' : ` (${formatElapsed(elapsedMs)})`) +
    (detail === undefined || detail === '' ? '' : `: ${detail}`)
  );
}

/** `done: <summary>`, `cancelled: <summary>` or `failed: <summary>`. */
export function outcomeLine(done: { ok: boolean; cancelled: boolean; summary: string }): string {
  const outcome = done.ok ? 'done' : done.cancelled ? 'cancelled' : 'failed';
  return `${outcome}: ${sanitizeLine(done.summary)}`;
}
