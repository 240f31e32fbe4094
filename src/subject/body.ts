import type { IncomingMessage } from 'node:http';

/** Largest body a subject endpoint reads: its bodies are a few fields. */
const MAX_BODY = 16 * 1024;

/** Marks a body that is not JSON (or too large): the endpoint answers 400 `body_invalid`. */
export const UNREADABLE = Symbol('unreadable body');

/**
 * The JSON body of a request: the one a body parser already set, else read from the stream (at most
 * 16 KB). Never throws: anything unreadable is {@link UNREADABLE}.
 */
export async function jsonBody(req: IncomingMessage, parsed: unknown): Promise<unknown> {
  if (parsed !== undefined) return parsed;
  if (req.readableEnded) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) return UNREADABLE;
      chunks.push(chunk as Buffer);
    }
  } catch {
    return UNREADABLE;
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return UNREADABLE;
  }
}
