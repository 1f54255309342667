/**
 * Keys of `envctl monitor` → what they mean in the current state. Pure: the monitor runs what
 * comes back (a state change, a question, an action, quitting). The key names are those of
 * Node's readline `keypress` events.
 */
import { WEIGHT_NUDGE, type MonitorEvent, type MonitorState, type Prompt, type PromptAction } from './monitor-store.js';

export interface KeyPress {
  /** The character typed, when printable. */
  input: string | undefined;
  /** readline's key name: `tab`, `up`, `return`, `escape`, `backspace`, `pageup`, … */
  name: string | undefined;
  ctrl: boolean;
  shift: boolean;
}

export type KeyIntent =
  | { kind: 'event'; event: MonitorEvent }
  | { kind: 'quit' }
  /** Ask y/n for this action (after checking it is possible now). */
  | { kind: 'ask'; action: PromptAction }
  /** The person answered yes to the prompt. */
  | { kind: 'confirm'; prompt: Prompt }
  | { kind: 'nudge'; delta: number }
  | { kind: 'none' };

/** Rows a page key moves the log view. */
const PAGE_ROWS = 10;

export function keyIntent(state: MonitorState, key: KeyPress): KeyIntent {
  const event = (value: MonitorEvent): KeyIntent => ({ kind: 'event', event: value });
  if (key.ctrl && key.name === 'c') return { kind: 'quit' };

  if (state.ui.prompt !== undefined) {
    // Destructive actions: only an explicit y confirms; anything else cancels.
    if (key.input === 'y' || key.input === 'Y') return { kind: 'confirm', prompt: state.ui.prompt };
    return event({ type: 'prompt', prompt: undefined });
  }

  if (state.ui.editingFilter) {
    if (key.name === 'return' || key.name === 'enter') return event({ type: 'filter-end', keep: true });
    if (key.name === 'escape') return event({ type: 'filter-end', keep: false });
    if (key.name === 'backspace' || key.name === 'delete') return event({ type: 'filter-backspace' });
    if (key.input !== undefined && key.input.length > 0 && !key.ctrl && !/[\u0000-\u001f\u007f]/.test(key.input)) return event({ type: 'filter-input', text: key.input });
    return { kind: 'none' };
  }

  if (state.ui.help) {
    if (key.input === 'q') return { kind: 'quit' };
    return event({ type: 'help', open: false });
  }

  if (key.name === 'tab') return event({ type: 'focus', delta: key.shift ? -1 : 1 });
  if (key.name === 'left') return event({ type: 'focus', delta: -1 });
  if (key.name === 'right') return event({ type: 'focus', delta: 1 });
  const logs = state.ui.focus === 'logs';
  if (key.name === 'up' || key.input === 'k') return event(logs ? { type: 'scroll', delta: -1 } : { type: 'select', delta: -1 });
  if (key.name === 'down' || key.input === 'j') return event(logs ? { type: 'scroll', delta: 1 } : { type: 'select', delta: 1 });
  if (key.name === 'pageup') return event({ type: 'scroll', delta: -PAGE_ROWS });
  if (key.name === 'pagedown') return event({ type: 'scroll', delta: PAGE_ROWS });
  if (key.name === 'escape') return event({ type: 'clear-filters' });
  switch (key.input) {
    case 'q':
      return { kind: 'quit' };
    case '?':
      return event({ type: 'help', open: true });
    case '/':
      return event({ type: 'filter-start' });
    case 'l':
      return event({ type: 'toggle-log-service' });
    case 'f':
    case ' ':
      return event({ type: 'toggle-follow' });
    case 'r':
      return { kind: 'ask', action: 'restart' };
    case 'a':
      return { kind: 'ask', action: 'approve' };
    case 'p':
      return { kind: 'ask', action: 'promote' };
    case 'b':
      return { kind: 'ask', action: 'rollback' };
    case '+':
    case '=':
      return { kind: 'nudge', delta: WEIGHT_NUDGE };
    case '-':
      return { kind: 'nudge', delta: -WEIGHT_NUDGE };
    default:
      return { kind: 'none' };
  }
}
