// The page's client of the /v1 API: JSON in and out, problem+json errors as ApiError (status, detail and
// the issues with their paths), and the optional bearer token (UNROLL_API_TOKENS) kept in localStorage.

const TOKEN_KEY = 'unroll.token';

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} detail
   * @param {{path: (string | number)[], message: string}[]} [issues]
   */
  constructor(status, detail, issues = []) {
    super(detail);
    this.status = status;
    this.issues = issues;
  }
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return ''; // storage disabled: run without a token
  }
}

/** @param {string} token */
export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lasts until the page reloads
  }
}

/**
 * @param {string} method @param {string} path @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 204) return null;
  const text = await res.text();
  /** @type {any} */
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (a proxy's error page): the status says enough
  }
  if (!res.ok) throw new ApiError(res.status, json?.detail ?? `${res.status} ${res.statusText}`, json?.issues);
  return json;
}

/** The event socket's URL for a run, resuming after `since` (-1: from the start). @param {string} id @param {number} since */
export function eventsUrl(id, since) {
  const { protocol, host } = globalThis.location;
  const params = new URLSearchParams();
  if (since >= 0) params.set('since', String(since));
  const token = getToken();
  // browsers cannot set headers on a WebSocket: the server also reads ?access_token=
  if (token) params.set('access_token', token);
  const q = params.toString();
  return `${protocol === 'https:' ? 'wss:' : 'ws:'}//${host}/v1/runs/${encodeURIComponent(id)}/events${q ? `?${q}` : ''}`;
}
