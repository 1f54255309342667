/**
 * `envctl init` on a terminal: the questions its flags did not answer, one at a time (Ink, with
 * @inkjs/ui's text input and select). Answered questions stay on screen as `✔ question: answer`.
 * The component only collects answers; the command does the work with them.
 */
import { Select, TextInput } from '@inkjs/ui';
import { Box, Text, useInput } from 'ink';
import { useState, type ReactNode } from 'react';

export type InitQuestion =
  | { id: 'name'; kind: 'text'; label: string; initial: (answers: InitAnswers) => string; validate: (value: string) => string | undefined }
  | { id: 'source' | 'ci'; kind: 'select'; label: string; options: ReadonlyArray<{ value: string; label: string }> };

export type InitAnswers = Record<string, string>;

export interface InitPromptsProps {
  questions: readonly InitQuestion[];
  onDone: (answers: InitAnswers) => void;
  onCancel: () => void;
}

export function InitPrompts({ questions, onDone, onCancel }: InitPromptsProps): ReactNode {
  const [answers, setAnswers] = useState<Array<{ question: InitQuestion; value: string; shown: string }>>([]);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const current = questions[answers.length];

  useInput((input, key) => {
    if ((key.ctrl && input === 'c') || key.escape) onCancel();
  });

  const answer = (question: InitQuestion, value: string): void => {
    const shown = question.kind === 'select' ? (question.options.find((option) => option.value === value)?.label ?? value) : value;
    const next = [...answers, { question, value, shown }];
    setAnswers(next);
    setProblem(undefined);
    if (next.length === questions.length) onDone(Object.fromEntries(next.map((item) => [item.question.id, item.value])));
  };

  return (
    <Box flexDirection="column">
      {answers.map((item) => (
        <Text key={item.question.id}>
          <Text color="green">✔ </Text>
          {`${item.question.label}: `}
          <Text bold>{item.shown}</Text>
        </Text>
      ))}
      {current ? (
        <Box flexDirection="column">
          <Text>
            <Text color="cyan">? </Text>
            <Text bold>{current.label}</Text>
            <Text dimColor>{current.kind === 'select' ? '  (↑/↓, Enter)' : '  (Enter)'}</Text>
          </Text>
          <Box marginLeft={2}>
            {current.kind === 'text' ? (
              <TextInput
                key={current.id}
                defaultValue={current.initial(Object.fromEntries(answers.map((item) => [item.question.id, item.value])))}
                onSubmit={(value) => {
                  const trimmed = value.trim();
                  const issue = current.validate(trimmed);
                  if (issue) setProblem(issue);
                  else answer(current, trimmed);
                }}
              />
            ) : (
              <Select key={current.id} options={current.options.map((option) => ({ ...option }))} onChange={(value) => answer(current, value)} />
            )}
          </Box>
          {problem ? <Text color="red">{`  ${problem}`}</Text> : null}
        </Box>
      ) : null}
    </Box>
  );
}
