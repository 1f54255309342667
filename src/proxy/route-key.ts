/**
 * What the proxy reads from a request before routing it (canary.md §3.1): the route key that picks the
 * stratum, and the tester's explicit target override. Pure string functions; the server passes in the
 * raw request line and header values.
 */
import { ARMS, type Arm } from './types.js';

/** A path segment that is an identifier rather than part of the route: replaced by this placeholder. */
export const ID_PLACEHOLDER = ':id';

const NUMERIC = /^\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * 16 or more hex digits: object ids (24), md5 (32), sha1 (40), sha256 (64). The length floor keeps
 * short words that happen to be hex (`/cafe`, `/feed`, `/deadbeef`) as part of the route.
 */
const LONG_HEX = /^[0-9a-f]{16,}$/i;

/**
 * The stratum a request belongs to: `METHOD /path/template`.
 *
 * - The query string and fragment are dropped (`/search?q=x` → `/search`).
 * - Each path segment that is all digits, a UUID, or 16+ hex digits becomes `:id`, so
 *   `GET /api/items/42` and `GET /api/items/7` share `GET /api/items/:id`.
 * - Everything else is kept verbatim: case, trailing slash, percent-encoding. The method is used as
 *   received (HTTP methods are case-sensitive and Node's parser only admits known ones).
 *
 * Paths that are not templated this way (slugs, names) still each get their own stratum; the router
 * caps the number of strata, so this costs evenness, never memory.
 */
export function routeKeyOf(method: string, path: string): string {
  const end = path.search(/[?#]/);
  const bare = end === -1 ? path : path.slice(0, end);
  const request = `${method} ${bare}`;
  const known = recentRouteKeys.get(request);
  if (known !== undefined) return known;
  const template = bare
    .split('/')
    .map((segment) => (NUMERIC.test(segment) || UUID.test(segment) || LONG_HEX.test(segment) ? ID_PLACEHOLDER : segment))
    .join('/');
  const key = `${method} ${template === '' ? '/' : template}`;
  if (recentRouteKeys.size >= ROUTE_KEY_CACHE_SIZE) recentRouteKeys.clear();
  recentRouteKeys.set(request, key);
  return key;
}

/**
 * The route keys of recently seen `METHOD /path` pairs (the proxy computes one per request, and most
 * requests repeat a path): at most this many, forgotten all at once when full, so memory stays bounded
 * whatever paths clients invent.
 */
const ROUTE_KEY_CACHE_SIZE = 4096;
const recentRouteKeys = new Map<string, string>();

/** The request header a tester sets to pin a request to one arm. */
export const TARGET_HEADER = 'x-envctl-target';
/** The cookie with the same meaning, for browsers. */
export const TARGET_COOKIE = 'envctl_target';

/**
 * The arm a request is pinned to by `X-Envctl-Target` or the `envctl_target` cookie, if any.
 * Values are trimmed and case-insensitive (`" Canary "` → `canary`). A valid header wins over the
 * cookie; a header that is not an arm name is ignored (the cookie still applies), as is a repeated
 * header (Node joins repeats with `, `, which is not an arm name either).
 *
 * @param headerValue `req.headers['x-envctl-target']` as Node gives it.
 * @param cookieHeader `req.headers.cookie` (Node joins several Cookie headers with `; `).
 */
export function parseTargetOverride(headerValue: string | readonly string[] | undefined, cookieHeader: string | undefined): Arm | undefined {
  const header = typeof headerValue === 'string' ? headerValue : headerValue?.length === 1 ? headerValue[0] : undefined;
  return armNamed(header) ?? armNamed(cookieValue(cookieHeader, TARGET_COOKIE));
}

function armNamed(value: string | undefined): Arm | undefined {
  const name = value?.trim().toLowerCase();
  return ARMS.find((arm) => arm === name);
}

/** The first cookie called `name` (names are case-sensitive, RFC 6265 §5.4), without optional quotes. */
function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  for (const pair of cookieHeader?.split(';') ?? []) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq).trim() === name) {
      const value = pair.slice(eq + 1).trim();
      return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    }
  }
  return undefined;
}
