/** How `up` (local and swarm) and `feature enable|disable` tell a person which services failed or never started (plain text on stderr). */
import { sanitizeLine } from '../ui/sanitize.js';

interface ServiceOutcome {
  service: string;
  status: string;
  detail: string;
  logTail?: readonly string[];
}

/** Each failed service with its reason and last log lines. Container output is sanitised: a container must not send escapes to the terminal. */
export function writeFailedServices(services: readonly ServiceOutcome[], write: (text: string) => void = (text) => process.stderr.write(text)): void {
  for (const failed of services.filter((outcome) => outcome.status === 'failed')) {
    write(`\nservice ${failed.service} failed: ${sanitizeLine(failed.detail)}\n`);
    if (failed.logTail && failed.logTail.length > 0) write(`last ${failed.logTail.length} log lines of ${failed.service}:\n${failed.logTail.map((line) => `  ${sanitizeLine(line)}`).join('\n')}\n`);
  }
}

/** The services never started because something they depend on failed, on one line. */
export function writeSkippedServices(services: readonly ServiceOutcome[], write: (text: string) => void = (text) => process.stderr.write(text)): void {
  const skipped = services.filter((outcome) => outcome.status === 'skipped');
  if (skipped.length > 0) write(`not started: ${skipped.map((outcome) => outcome.service).join(', ')}\n`);
}
