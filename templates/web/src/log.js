// Structured logs: one JSON object per line on stdout (time, level, msg, then fields).
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 };

export function parseLevel(value, fallback = 'info') {
  const level = String(value ?? '').trim().toLowerCase();
  return Object.hasOwn(LEVELS, level) ? level : fallback;
}

/** An Error (or anything thrown) as plain JSON-friendly fields. */
export function serializeError(error) {
  if (!(error instanceof Error)) return { message: String(error) };
  const out = { name: error.name, message: error.message };
  if (error.code !== undefined) out.code = error.code;
  if (error.stack) out.stack = error.stack;
  if (error instanceof AggregateError && error.errors.length > 0) {
    out.errors = error.errors.map((inner) => serializeError(inner).message);
  }
  return out;
}

/** One log line (without the newline). `base` fields come first, then `fields`. */
export function formatLine({ level, msg, fields = {}, base = {}, now = new Date() }) {
  const entry = { time: now.toISOString(), level, msg, ...base };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    entry[key] = value instanceof Error ? serializeError(value) : value;
  }
  return JSON.stringify(entry);
}

export function createLogger({ level = 'info', base = {}, write = (line) => process.stdout.write(line) } = {}) {
  const threshold = LEVELS[parseLevel(level)];
  const logger = {};
  for (const name of Object.keys(LEVELS)) {
    logger[name] = (msg, fields) => {
      if (LEVELS[name] < threshold) return;
      write(`${formatLine({ level: name, msg, fields, base })}\n`);
    };
  }
  logger.enabled = (name) => LEVELS[name] >= threshold;
  return logger;
}
