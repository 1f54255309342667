/**
 * Every error envctl reports on purpose: a stable `code`, the process exit code, a one-line hint
 * and a JSON form. Anything else that escapes is a bug and is shown with its stack.
 */

/** The project-wide exit-code table (design.md). */
export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  environment: 3,
  undecided: 4,
  cancelled: 130,
  /** The reader of stdout or stderr went away (`| head`): set in bin/run.js, where nothing is loaded yet. */
  brokenPipe: 141,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A problem located in a definition file (1-based line and column). */
export interface Diagnostic {
  code: string;
  message: string;
  file: string;
  line: number;
  col: number;
  /** Dotted path in the resolved definition, e.g. `services.web.ports[0]`; empty for file-level problems. */
  path: string;
  hint?: string;
  /** The offending source line(s) with a caret under the location. */
  excerpt?: string;
}

export class EnvctlError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { exitCode: ExitCode; hint?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode;
    this.hint = options.hint;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, exitCode: this.exitCode, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

/** Bad input in a definition: one or more located diagnostics. Exit 2. */
export class DefinitionError extends EnvctlError {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    const first = diagnostics[0];
    const summary = first
      ? `${first.file}:${first.line}:${first.col} ${first.message}` +
        (diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : '')
      : 'invalid definition';
    super(first?.code ?? 'INVALID_DEFINITION', summary, { exitCode: ExitCode.badInput, hint: first?.hint });
    this.diagnostics = diagnostics;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), diagnostics: this.diagnostics };
  }
}

/** Bad flags or arguments. Exit 2. */
export class UsageError extends EnvctlError {
  constructor(code: string, message: string, hint?: string) {
    super(code, message, { exitCode: ExitCode.badInput, hint });
  }
}

/** The machine is not ready: no engine, no permission, port taken. Exit 3. */
export class EnvironmentError extends EnvctlError {
  constructor(code: string, message: string, hint?: string, cause?: unknown) {
    super(code, message, { exitCode: ExitCode.environment, hint, cause });
  }
}

/** The work itself failed (an engine call, a build, a check). Exit 1. */
export class WorkFailedError extends EnvctlError {
  constructor(code: string, message: string, hint?: string, cause?: unknown) {
    super(code, message, { exitCode: ExitCode.failed, hint, cause });
  }
}
