/**
 * What every envctl command shares: the common flags, the decision "TTY, plain lines or JSON"
 * made once at the edge, and the one error handler (exit codes from design.md).
 */
import { Command, Flags } from '@oclif/core';
import { parseDurationMs } from '../definition/values.js';
import { EnvctlError, ExitCode, UsageError } from '../errors.js';
import { renderDiagnostic, renderError } from './render-error.js';
import type { LoadOptions } from '../definition/resolve.js';
import { assertTrusted } from '../state/trust.js';
import { isAbsolute, relative } from 'node:path';
import type { Diagnostic } from '../errors.js';
import { isTruthy } from '../fs-util.js';

export type OutputMode = 'tty' | 'plain' | 'json';

export abstract class EnvctlCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    debug: Flags.boolean({ description: 'show stack traces and internal detail', helpGroup: 'GLOBAL', default: false }),
  };

  /** Flags that select a definition and an environment, for commands that read one. */
  static definitionFlags = {
    file: Flags.string({ char: 'f', description: 'definition file (default: envctl.yaml, compose.yaml … in this folder or a parent; or $ENVCTL_FILE); repeat to merge Compose files in order, like docker-compose -f a.yml -f b.yml', multiple: true }),
    env: Flags.string({ char: 'e', description: 'environment overlay to apply (from `environments:`); default: the base definition', env: 'ENVCTL_ENV' }),
    profile: Flags.string({ description: 'enable services of this profile (repeatable)', multiple: true }),
    'project-name': Flags.string({ char: 'p', description: 'project name (default: `name:` in the definition, or its folder)', env: 'ENVCTL_PROJECT_NAME' }),
    'allow-privileged': Flags.boolean({ description: 'allow bind mounts of /, /etc and the Docker socket (root-equivalent)', default: false }),
    'allow-outside': Flags.string({ description: 'let the definition use this host path outside its folder (bind mounts, build contexts, env files, includes; repeatable)', multiple: true }),
  };

  /** The definition to load, from the definition flags; `profiles` overrides `--profile` (e.g. `['*']` for down). */
  protected loadOptions(
    flags: { file?: string[] | undefined; env?: string | undefined; profile?: string[] | undefined; 'project-name'?: string | undefined; 'allow-privileged'?: boolean | undefined; 'allow-outside'?: string[] | undefined },
    profiles?: string[],
  ): LoadOptions {
    // Looking at or removing what runs (`*` profiles: down, logs, exec) never needs the opt-ins (privileged, outside paths).
    const inspecting = profiles?.includes('*') ?? false;
    return { cwd: process.cwd(), file: flags.file?.[0], overrideFiles: flags.file?.slice(1), env: flags.env, profiles: profiles ?? flags.profile, processEnv: process.env, projectName: flags['project-name'], allowPrivileged: inspecting || flags['allow-privileged'], allowOutside: inspecting ? ['/'] : flags['allow-outside'] };
  }

  /**
   * For commands that act on the host (up, pipeline): the same, plus the trust gate: a definition
   * obtained from elsewhere must be trusted (`envctl trust`) before its host commands or outside
   * paths are used (src/state/trust.ts).
   */
  protected actingLoadOptions(flags: Parameters<EnvctlCommand['loadOptions']>[0]): LoadOptions {
    const options = this.loadOptions(flags);
    return { ...options, checkTrust: (model) => assertTrusted(model, { env: process.env, uid: process.geteuid?.(), display: displayDefinition(model.file) }) };
  }

  /**
   * For commands that read host paths on the definition's behalf without running it (export): a
   * definition that allows itself paths outside its folder (`x-envctl-allow-paths`) must be trusted
   * first, like `up` (the same trust entry); one without such allowances needs no trust here.
   */
  protected exportingLoadOptions(flags: Parameters<EnvctlCommand['loadOptions']>[0]): LoadOptions {
    const options = this.loadOptions(flags);
    return {
      ...options,
      checkTrust: async (model) => {
        if ((model.allowedHostPaths ?? []).length > 0) await assertTrusted(model, { env: process.env, uid: process.geteuid?.(), display: displayDefinition(model.file) });
      },
    };
  }

  /** tty: Ink on stderr; plain: lines (no TTY or CI=true); json: one JSON document on stdout. */
  protected outputMode(): OutputMode {
    if (this.jsonEnabled()) return 'json';
    if (!process.stderr.isTTY || isCi(process.env)) return 'plain';
    return 'tty';
  }

  protected colorOnStderr(): boolean {
    return Boolean(process.stderr.isTTY) && !process.env.NO_COLOR && !this.jsonEnabled();
  }

  protected warnDiagnostics(diagnostics: readonly Diagnostic[]): void {
    for (const diagnostic of diagnostics) process.stderr.write(`${renderDiagnostic(diagnostic, 'warning', { color: this.colorOnStderr() })}\n`);
  }

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    const debug = this.argv.includes('--debug');
    if (error instanceof EnvctlError) {
      if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`);
      else process.stderr.write(`${renderError(error, { color: this.colorOnStderr(), debug })}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    if (error.oclif !== undefined || (error as { code?: string }).code?.startsWith?.('EEXIT') === true) {
      // oclif's own: flag parsing (bad input → 2), help, this.exit().
      if (error.oclif?.exit !== undefined && error.oclif.exit !== 0 && (error as { code?: string }).code !== 'EEXIT') {
        if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify({ error: { code: 'USAGE', message: error.message, exitCode: ExitCode.badInput } }, null, 2)}\n`);
        else process.stderr.write(`${renderError(new EnvctlError('USAGE', error.message.split('\n')[0] ?? error.message, { exitCode: ExitCode.badInput, hint: `see \`envctl ${this.id ?? ''} --help\`` }), { color: this.colorOnStderr(), debug })}\n`);
        process.exitCode = ExitCode.badInput;
        return;
      }
      throw error;
    }
    process.stderr.write(`${renderError(error, { color: this.colorOnStderr(), debug: true })}\n`);
    process.exitCode = ExitCode.failed;
  }
}

/** `--wait-timeout`-style flags: a Go-style duration, parsed at the edge into milliseconds. */
export const durationFlag = Flags.custom<number>({
  parse: async (input) => {
    try {
      return parseDurationMs(input);
    } catch {
      throw new UsageError('BAD_FLAG', `invalid duration "${input}"`, 'give a duration such as 90s or 5m');
    }
  },
});

/** The definition path as the user would type it from here. */
export function displayDefinition(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** Whether this runs in CI (`CI` set to anything but empty, 0 or false). */
export function isCi(env: Readonly<Record<string, string | undefined>>): boolean {
  return isTruthy(env.CI);
}
