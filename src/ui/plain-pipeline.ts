/**
 * Pipeline progress as plain lines, for logs and CI (no TTY or `CI=true`): no colour, no cursor
 * movement. The format is stable so it can be grepped; change it only on purpose.
 *
 *   pipeline <run id> <project>[ (env <env>)]: <stages>    the run starts
 *                                              pipeline 20261126T103512Z-a1b2 demo (env default): build, integration, perf, staging
 *   <stage>  <status>[ (<elapsed>)][: <detail>]            a stage changes status
 *                                              build  running
 *                                              build  passed (12.3s)
 *                                              integration  failed (8.2s): npm test exited 1
 *                                              perf  skipped: integration failed
 *   <stage>  | <line>                                      a line of the stage's output
 *                                              integration  | > npm test
 *   <stage>  | <up/down line>                              the stage's environment, in the plain `up` format
 *                                              integration  | db  healthy (2.1s)
 *                                              integration  | web  | Step 1/4 : FROM node
 *                                              integration  | warning: port 8080 is published on all interfaces
 *   <stage>  check <passed|failed>: <name>[: <detail>]     a check's verdict
 *                                              staging  check failed: port web:3000: nothing listens on 3000 inside web
 *   done: <summary> | failed: <summary> | cancelled: <summary>    the run ends
 *
 * - The stage name is followed by exactly two spaces: `grep '^perf  '` finds one stage, its output
 *   and its environment included. `grep '^[a-z]*  check failed'` finds every failed check.
 * - <status> is one of running, passed, failed, skipped (`pending` is not printed).
 * - <elapsed> is the time the stage ran (`12.3s`, `1m05s`), on passed and failed.
 * - A stage event that repeats the stage's status and detail is not printed, nor output that is
 *   empty once sanitised.
 * - `up`/`down` events belong to the stage that started running last; before any stage has run
 *   they are printed as they are, without the `<stage>  | ` prefix. Their `done:` line, prefixed,
 *   ends the environment's operation, not the run.
 * - Everything from commands and containers is sanitised (no escape sequences or control
 *   characters except tab) and folded onto one line.
 */
import type { PipelineSinkEvent, PipelineState, StageProgress } from './pipeline-store.js';
import { forwardedLines } from './pipeline-store.js';
import { checkText, pipelinePlainTitle, stageDuration } from './pipeline-text.js';
import { outcomeLine, statusLine } from './plain-progress.js';
import { sanitizeLine } from './sanitize.js';

/**
 * The plain lines (without newline) for one event. `before` and `after` are the folded state
 * around the event: the lines are about the change, and text comes from the (sanitised) state.
 */
export function plainPipelineLines(event: PipelineSinkEvent, before: PipelineState, after: PipelineState): string[] {
  switch (event.type) {
    case 'pipeline':
      return after.run === undefined ? [] : [pipelinePlainTitle(after.run, after.stages)];
    case 'stage': {
      const previous = findStage(before, event.stage);
      const current = findStage(after, event.stage);
      if (current === undefined || current.status === 'pending') return [];
      if (previous !== undefined && previous.status === current.status && previous.detail === current.detail) return [];
      const duration = current.status === 'passed' || current.status === 'failed' ? stageDuration(current, after, event.at) : undefined;
      return [statusLine(current.name, current.status, duration, current.detail)];
    }
    case 'stage-output': {
      const line = sanitizeLine(event.line);
      return line === '' ? [] : [`${event.stage}  | ${line}`];
    }
    case 'check': {
      const check = findStage(after, event.stage)?.checks.find((candidate) => candidate.name === sanitizeLine(event.name));
      return check === undefined ? [] : [`${event.stage}  check ${check.status}: ${checkText(check)}`];
    }
    case 'pipeline-done':
      return [outcomeLine(event)];
    default: {
      const lines = forwardedLines(event, before, after);
      const stage = after.currentStage;
      return stage === undefined ? lines : lines.map((line) => `${stage}  | ${line}`);
    }
  }
}

function findStage(state: PipelineState, name: string): StageProgress | undefined {
  return state.stages.find((stage) => stage.name === name);
}
