/**
 * Runs the `init` questions on a terminal (Ink on stderr, keys from stdin). Resolves with the
 * answers, or `undefined` when the user cancels (Ctrl-C or Esc).
 */
import { render } from 'ink';
import { createElement } from 'react';
import { InitPrompts, type InitAnswers, type InitQuestion } from './InitPrompts.js';

export type { InitAnswers, InitQuestion } from './InitPrompts.js';

export async function askInitQuestions(questions: readonly InitQuestion[], terminal: { stdin: NodeJS.ReadStream; stderr: NodeJS.WriteStream }): Promise<InitAnswers | undefined> {
  if (questions.length === 0) return {};
  let outcome: InitAnswers | undefined;
  const ink = render(
    createElement(InitPrompts, {
      questions,
      onDone: (answers: InitAnswers) => {
        outcome = answers;
        // Let Ink draw the last answer before it unmounts.
        setImmediate(() => ink.unmount());
      },
      onCancel: () => ink.unmount(),
    }),
    { stdout: terminal.stderr, stderr: terminal.stderr, stdin: terminal.stdin, exitOnCtrlC: false, patchConsole: false },
  );
  await ink.waitUntilExit();
  return outcome;
}
