import { realpath } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { Flags } from '@oclif/core';
import { displayDefinition, EnvctlCommand } from '../cli/base-command.js';
import { validateAllEnvironments } from '../definition/resolve.js';
import { EnvctlError, ExitCode, UsageError } from '../errors.js';
import {
  capabilitiesHash,
  describeCapabilities,
  hostCapabilities,
  isEmpty,
  isTrusted,
  readTrustStore,
  trustRequirement,
  trustStorePath,
  updateTrustStore,
  withoutFile,
  withTrust,
} from '../state/trust.js';

export interface TrustResult {
  file: string;
  store: string;
  /** Whether trust is required for this definition here, and why. */
  required: boolean;
  reason: string;
  /** Per environment: what it runs on the host, and whether that is trusted. */
  environments: Array<{ env: string; hash: string; commands: string[]; trusted: boolean }>;
  action: 'shown' | 'trusted' | 'already-trusted' | 'declined' | 'revoked' | 'nothing-to-trust';
}

export default class TrustCommand extends EnvctlCommand {
  static override summary = 'Show what a definition runs on this machine, and trust it (like `direnv allow`).';
  static override description =
    'A definition obtained from elsewhere (a git clone, a file owned by someone else, or any definition when ENVCTL_REQUIRE_TRUST=1) runs no host command (pipeline build/integration without `service:`, notify.command) and uses no host path outside its folder (x-envctl-allow-paths) until trusted. Trust is keyed to the hash of exactly those commands and paths for each environment: a change needs trusting again. The store is ~/.config/envctl/trust.json ($ENVCTL_TRUST_FILE, $XDG_CONFIG_HOME), written atomically with mode 0600. On a terminal it asks; without one it needs --yes.';
  static override examples = ['<%= config.bin %> trust --show', '<%= config.bin %> trust', '<%= config.bin %> trust -f ci/envctl.yaml --yes', '<%= config.bin %> trust --revoke'];
  static override flags = {
    ...EnvctlCommand.definitionFlags,
    show: Flags.boolean({ description: 'print the host commands and paths and whether they are trusted; change nothing', default: false, exclusive: ['yes', 'revoke'] }),
    yes: Flags.boolean({ char: 'y', description: 'trust without asking (needed without a terminal)', default: false }),
    revoke: Flags.boolean({ description: 'forget every trust given to this definition', default: false, exclusive: ['yes'] }),
  };

  async run(): Promise<TrustResult> {
    const { flags } = await this.parse(TrustCommand);
    const models = await validateAllEnvironments(this.loadOptions(flags));
    const file = await realpath(models[0]!.file);
    const display = displayDefinition(file);
    const storePath = trustStorePath(process.env);
    const store = await readTrustStore(storePath);
    const requirement = await trustRequirement(file, process.env, process.geteuid?.());
    const environments = models
      .map((model) => ({ env: model.env, capabilities: hostCapabilities(model) }))
      .filter((entry) => !isEmpty(entry.capabilities))
      .map((entry) => {
        const hash = capabilitiesHash(file, entry.capabilities);
        return { env: entry.env, hash, commands: describeCapabilities(entry.capabilities), trusted: isTrusted(store, file, hash) };
      });
    const result = (action: TrustResult['action']): TrustResult => ({ file, store: storePath, required: requirement.required, reason: requirement.reason, environments, action });
    const say = (text: string) => {
      if (!this.jsonEnabled()) process.stdout.write(`${text}\n`);
    };

    if (flags.revoke) {
      await updateTrustStore(storePath, (current) => withoutFile(current, file));
      say(`${display}: trust revoked`);
      return { ...result('revoked'), environments: environments.map((entry) => ({ ...entry, trusted: false })) };
    }
    if (environments.length === 0) {
      say(`${display} runs no command on this machine and uses no host path outside its folder: nothing to trust`);
      return result('nothing-to-trust');
    }
    say(renderCapabilities(display, environments));
    say(requirement.required ? `trust is required here: ${requirement.reason}` : `trust is not required here (${requirement.reason}); it is kept for when it is`);
    if (flags.show) return result('shown');
    const untrusted = environments.filter((entry) => !entry.trusted);
    if (untrusted.length === 0) {
      say(`${display} is already trusted`);
      return result('already-trusted');
    }
    if (!flags.yes) {
      const interactive = !this.jsonEnabled() && Boolean(process.stdin.isTTY) && Boolean(process.stderr.isTTY);
      if (!interactive) throw new UsageError('TRUST_NEEDS_YES', `not trusting ${display} without a confirmation`, 'review the commands above (envctl trust --show), then pass --yes');
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      // Ctrl-C (or Ctrl-D) at the prompt closes it: the question rejects with an AbortError. That is a cancellation (130), not a crash.
      const cancel = new AbortController();
      prompt.on('SIGINT', () => cancel.abort());
      prompt.on('close', () => cancel.abort());
      const answer = await prompt
        .question(`Trust ${display} to run these commands on this machine? [y/N] `, { signal: cancel.signal })
        .catch((error: unknown) => {
          if ((error as { name?: string }).name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR') {
            process.stderr.write('\n');
            throw new EnvctlError('CANCELLED', `trust cancelled; ${display} was not trusted`, { exitCode: ExitCode.cancelled });
          }
          throw error;
        })
        .finally(() => prompt.close());
      if (!/^y(es)?$/i.test(answer.trim())) {
        say('not trusted');
        process.exitCode = ExitCode.failed;
        return result('declined');
      }
    }
    await updateTrustStore(storePath, (current) => untrusted.reduce((next, entry) => withTrust(next, { file, hash: entry.hash, commands: entry.commands }, new Date()), current));
    say(`trusted ${display} (${storePath})`);
    return { ...result('trusted'), environments: environments.map((entry) => ({ ...entry, trusted: true })) };
  }
}

function renderCapabilities(display: string, environments: Array<{ env: string; commands: string[]; trusted: boolean }>): string {
  const lines = [`${display} would run on this machine:`];
  for (const entry of environments) {
    lines.push(`  environment ${entry.env} (${entry.trusted ? 'trusted' : 'not trusted'}):`);
    for (const command of entry.commands) lines.push(`    ${command}`);
  }
  return lines.join('\n');
}
