import { EnvctlCommand } from '../cli/base-command.js';
import type { DoctorCheck } from '../doctor/checks.js';
import { doctorFailed, renderDoctorText, runDoctor } from '../doctor/doctor.js';
import { machineProbes } from '../doctor/probes.js';
import { ExitCode } from '../errors.js';

/** Each engine or file-system probe gives up after this long (ms): a hung engine is a finding, not a hang. */
const PROBE_TIMEOUT_MS = 5_000;

export default class DoctorCommand extends EnvctlCommand {
  static override summary = 'Check that this machine can run envctl, with the fix for each problem.';
  static override description = [
    'Checks Node (>= 22), the Docker engine (DOCKER_HOST) and its version, the four base images, the release proxy bundle, free disk space (Docker root dir, project folder), the definition here and its host ports, and tmux.',
    'One line per check (✔ ok, ⚠ warning, ✖ failed, • information, – skipped), with the fix under each problem.',
    'Exit code 0 when nothing failed (warnings allowed), 1 when a check failed. Nothing is changed.',
    'The definition (the same lookup as every command, or --file/--env) is optional: without one, its checks are skipped.',
  ].join('\n');
  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --json | jq \'.[] | select(.status == "fail")\'',
    'DOCKER_HOST=unix:///run/user/1000/docker.sock <%= config.bin %> doctor',
  ];
  static override flags = { ...EnvctlCommand.definitionFlags };

  async run(): Promise<DoctorCheck[]> {
    const { flags } = await this.parse(DoctorCommand);
    const checks = await runDoctor({ probes: machineProbes({ load: this.loadOptions(flags), env: process.env }), timeoutMs: PROBE_TIMEOUT_MS });
    if (!this.jsonEnabled()) process.stdout.write(renderDoctorText(checks));
    process.exitCode = doctorFailed(checks) ? ExitCode.failed : ExitCode.ok;
    return checks;
  }
}
