// What the pages say about a failed server answer.

/** The API's `error` object of a failed response ({code, message, field, ...}). */
export async function errorOf(response) {
  const body = await response.json().catch(() => ({}));
  return body.error || { message: `the server answered HTTP ${response.status}` };
}

/** The server's lower-case message as the start of a sentence. */
export function capitalized(text) {
  const s = String(text || "something went wrong");
  return s.charAt(0).toUpperCase() + s.slice(1);
}
