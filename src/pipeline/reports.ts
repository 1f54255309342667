/** A run record as JUnit (one suite per stage; one case per check, threshold, test command or image) and as a notification summary. */
import type { JUnitReport } from './junit.js';
import type { RunRecord } from '../state/runs.js';

export function runToJUnit(record: RunRecord): JUnitReport {
  return {
    name: `envctl pipeline ${record.project} (${record.id})`,
    timestamp: record.startedAt,
    durationMs: record.durationMs ?? 0,
    suites: record.stages.map((stage) => ({
      name: stage.name,
      durationMs: stage.durationMs ?? 0,
      cases:
        stage.results.length > 0
          ? stage.results.map((result) => ({
              name: result.name,
              classname: `envctl.${record.project}.${stage.name}`,
              durationMs: result.durationMs ?? 0,
              status: result.status,
              ...(result.detail ? { message: result.detail } : {}),
              ...(result.status === 'failed' && stage.outputTail.length > 0 ? { output: stage.outputTail.join('\n') } : {}),
            }))
          : [
              {
                // A stage without individual results (skipped, or failed before any) is one case.
                name: stage.name,
                classname: `envctl.${record.project}.${stage.name}`,
                durationMs: stage.durationMs ?? 0,
                status: stage.status === 'passed' ? 'passed' : stage.status === 'failed' ? 'failed' : 'skipped',
                ...(stage.detail ? { message: stage.detail } : {}),
                ...(stage.outputTail.length > 0 ? { output: stage.outputTail.join('\n') } : {}),
              },
            ],
    })),
  };
}
