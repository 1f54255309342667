/**
 * envctl's help: oclif's, plus the exit-code table (design.md) at the end of the root help and of
 * every command's help, so a script author finds what each status means where they look first.
 */
import { Help, type Command } from '@oclif/core';
import { ExitCode } from '../errors.js';

/** What each exit status means, in the order of the numbers. */
export const EXIT_CODE_TABLE: ReadonlyArray<readonly [ExitCode, string]> = [
  [ExitCode.ok, 'ok'],
  [ExitCode.failed, 'the work failed: a stage, a check, a drift, or a release rolled back'],
  [ExitCode.badInput, 'bad input: the definition or the flags (the message says what to fix)'],
  [ExitCode.environment, 'environment problem: no Docker engine, a port taken, a damaged state file'],
  [ExitCode.undecided, 'undecided: a release inconclusive, or waiting at a manual gate without a terminal'],
  [ExitCode.cancelled, 'cancelled (Ctrl-C)'],
  [ExitCode.brokenPipe, 'the reader of its output went away (`| head`): stopped at once, as SIGPIPE would'],
];

export default class EnvctlHelp extends Help {
  override formatRoot(): string {
    return `${super.formatRoot()}\n\n${this.exitCodes()}`;
  }

  protected override formatCommand(command: Command.Loadable): string {
    return `${super.formatCommand(command)}\n\n${this.exitCodes()}`;
  }

  private exitCodes(): string {
    return this.section(
      'EXIT CODES',
      EXIT_CODE_TABLE.map(([code, meaning]) => [String(code), meaning]),
    );
  }
}
