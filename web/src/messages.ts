import { ApiError } from './api.ts';

const wait = (s: number | undefined) =>
  s === undefined ? 'Try again in a moment.' : s <= 1 ? 'Try again in a second.' : `Try again in ${s} seconds.`;

/**
 * What to tell a person about a refused request: what happened in plain words, what to do,
 * and the server's own message and request id (for a bug report or the server's logs).
 */
export function explain(err: unknown, hasKey: boolean): { title: string; detail: string } {
  if (!(err instanceof ApiError)) return { title: 'Something went wrong in the page.', detail: String(err) };
  const id = err.requestId ? ` (request id ${err.requestId})` : '';
  const detail = `${err.message}${id}`;
  switch (err.status) {
    case 0:
      return { title: 'The server could not be reached. Check that Loupe is running.', detail: '' };
    case 401:
      return {
        title: hasKey
          ? 'The API key was not accepted: it is malformed, unknown or revoked. Check the key in the API key field.'
          : 'This server needs an API key. Enter yours in the API key field at the top of the page.',
        detail,
      };
    case 403:
      return { title: 'Your API key is valid but not allowed to do this (it lacks the scope).', detail };
    case 413:
      return { title: 'The file is too large for this server.', detail };
    case 415:
      return {
        title: 'This file is not an image Loupe can read. Use JPEG, PNG, WebP, GIF, TIFF or AVIF.',
        detail,
      };
    case 422:
      return { title: 'The image could not be used.', detail };
    case 429:
      return { title: `Too many requests. ${wait(err.retryAfterS)}`, detail };
    case 503:
      return { title: `The server is busy or still starting. ${wait(err.retryAfterS)}`, detail };
    case 404:
      return { title: 'Not found.', detail };
    default:
      return { title: err.status >= 500 ? 'The server failed to answer.' : 'The request was refused.', detail };
  }
}
