/** Text forms of the base images' states (`envctl images list`). */
import type { BaseImageState } from './base-images.js';

export function formatSize(bytes: number): string {
  return `${Math.round(bytes / 1e6)} MB`;
}

function describe(state: BaseImageState): string {
  switch (state.status) {
    case 'present':
      return state.size === undefined ? '' : formatSize(state.size);
    case 'stale':
      return state.imageRecipe === 'none' ? 'the tag exists but was not built by envctl' : `built from recipe ${state.imageRecipe ?? '?'}`;
    case 'missing':
      return 'not on this engine';
  }
}

/** One line an image (tag, status, recipe, detail), then what to run when one is not present. */
export function renderImageStates(states: readonly BaseImageState[]): string {
  const width = Math.max(...states.map((state) => state.tag.length));
  const lines = states.map((state) => `${state.tag.padEnd(width)}  ${state.status.padEnd(7)}  recipe ${state.recipe}  ${describe(state)}`.trimEnd());
  const todo = states.filter((state) => state.status !== 'present');
  if (todo.length > 0) lines.push('', `build ${todo.length === 1 ? 'it' : 'them'}: envctl images build${todo.length === states.length ? '' : ` ${todo.map((state) => state.tag).join(' ')}`}`);
  return `${lines.join('\n')}\n`;
}
