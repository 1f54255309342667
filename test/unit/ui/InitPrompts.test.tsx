import { render } from 'ink-testing-library';
import { describe, expect, it, vi } from 'vitest';
import { checkProjectName } from '../../../src/init/init.js';
import { InitPrompts, type InitQuestion } from '../../../src/ui/InitPrompts.js';

const QUESTIONS: InitQuestion[] = [
  { id: 'name', kind: 'text', label: 'Project name', initial: () => 'shop', validate: checkProjectName },
  {
    id: 'ci',
    kind: 'select',
    label: 'CI',
    options: [
      { value: 'github', label: 'GitHub Actions' },
      { value: 'gitlab', label: 'GitLab CI' },
      { value: 'none', label: 'none' },
    ],
  },
];

const ENTER = '\r';
const DOWN = '\u001B[B';
const BACKSPACE = '\u007F';
const ESC = '\u001B';

/** Ink reads input asynchronously: give it a turn after each key. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 20));
async function press(stdin: { write(data: string): void }, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    stdin.write(key);
    await tick();
  }
}

/** Polls until the condition holds (a loaded machine may take a while to render), then gives input handlers a turn to attach. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
  await tick();
}

describe('InitPrompts', () => {
  it('asks one question at a time, keeps answered ones on screen, and hands over the answers', async () => {
    const onDone = vi.fn();
    const view = render(<InitPrompts questions={QUESTIONS} onDone={onDone} onCancel={() => {}} />);
    await tick();
    expect(view.lastFrame()).toContain('? Project name');
    expect(view.lastFrame()).toContain('shop');
    expect(view.lastFrame()).not.toContain('CI');

    await press(view.stdin, ...Array(4).fill(BACKSPACE), ...'cafe');
    await until(() => view.lastFrame()!.includes('cafe'), 'the typed name');
    await press(view.stdin, ENTER);
    await until(() => view.lastFrame()!.includes('? CI'), 'the CI question');
    expect(view.lastFrame()).toContain('✔ Project name: cafe');
    expect(view.lastFrame()).toContain('GitLab CI');

    await press(view.stdin, DOWN);
    await until(() => /❯ GitLab CI/.test(view.lastFrame()!), 'GitLab CI to be focused');
    await press(view.stdin, ENTER);
    await until(() => onDone.mock.calls.length > 0, 'the answers');
    expect(onDone).toHaveBeenCalledExactlyOnceWith({ name: 'cafe', ci: 'gitlab' });
    expect(view.lastFrame()).toContain('✔ CI: GitLab CI');
    view.unmount();
  });

  it('keeps asking for the name until it is valid, saying what is wrong', async () => {
    const onDone = vi.fn();
    const view = render(<InitPrompts questions={QUESTIONS.slice(0, 1)} onDone={onDone} onCancel={() => {}} />);
    await tick();
    await until(() => view.lastFrame()!.includes('shop'), 'the name question');
    await press(view.stdin, ' X');
    await until(() => view.lastFrame()!.includes('shop X'), 'the typed name');
    await press(view.stdin, ENTER);
    await until(() => view.lastFrame()!.includes('invalid project name "shop X"'), 'the problem');
    expect(onDone).not.toHaveBeenCalled();
    await press(view.stdin, BACKSPACE, BACKSPACE);
    await until(() => !/^\s+shop X/m.test(view.lastFrame()!), 'the corrected name');
    await press(view.stdin, ENTER);
    await until(() => onDone.mock.calls.length > 0, 'the answers');
    expect(onDone).toHaveBeenCalledExactlyOnceWith({ name: 'shop' });
    view.unmount();
  });

  it('fills in a default that follows an earlier answer', async () => {
    const onDone = vi.fn();
    const questions: InitQuestion[] = [
      { id: 'source', kind: 'select', label: 'Start from', options: [{ value: '/p/compose.yaml', label: 'compose.yaml (found here)' }, { value: 'sample', label: 'the sample' }] },
      { id: 'name', kind: 'text', label: 'Project name', initial: (answers) => (answers.source === 'sample' ? 'folder' : 'from-compose'), validate: checkProjectName },
    ];
    const view = render(<InitPrompts questions={questions} onDone={onDone} onCancel={() => {}} />);
    await tick();
    await until(() => view.lastFrame()!.includes('? Start from'), 'the first question');
    await press(view.stdin, DOWN);
    await until(() => /❯ the sample/.test(view.lastFrame()!), 'the sample to be focused');
    await press(view.stdin, ENTER);
    await until(() => view.lastFrame()!.includes('? Project name'), 'the name question');
    expect(view.lastFrame()).toContain('✔ Start from: the sample');
    expect(view.lastFrame()).toContain('folder');
    await press(view.stdin, ENTER);
    await until(() => onDone.mock.calls.length > 0, 'the answers');
    expect(onDone).toHaveBeenCalledExactlyOnceWith({ source: 'sample', name: 'folder' });
    view.unmount();
  });

  it('Esc cancels', async () => {
    const onCancel = vi.fn();
    const onDone = vi.fn();
    const view = render(<InitPrompts questions={QUESTIONS} onDone={onDone} onCancel={onCancel} />);
    await until(() => view.lastFrame()!.includes('? Project name'), 'the first question');
    await press(view.stdin, ESC);
    await until(() => onCancel.mock.calls.length > 0, 'the cancel');
    expect(onDone).not.toHaveBeenCalled();
    view.unmount();
  });
});
