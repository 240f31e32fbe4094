import { PiplConfigError, PiplGuardError } from '../errors/errors.js';

/** Where the consent token may be sent. Only the places switched on are looked at. */
export interface TokenLocation {
  /** Dedicated request header (default `pipl-consent`); `false` to turn off. */
  header?: string | false;
  /** Cookie name; off by default. */
  cookie?: string;
  /** Accept `Authorization: Bearer <token>`; off by default, since that header usually carries the actor's own credentials. */
  authorization?: boolean;
}

/**
 * Reads one request header by lower-case name: every value the client sent, as a list when it was
 * sent more than once (as in Node's `req.headersDistinct`). `req.headers` is not enough: Node keeps only
 * the first of duplicate `Authorization` headers there, so a second credential would go unseen.
 */
export type HeaderReader = (name: string) => string | string[] | undefined;

const TOKEN_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

/** Builds the per-request token extractor once; returns `undefined` when no token was sent. */
export function createTokenExtractor(
  location: TokenLocation = {},
): (header: HeaderReader) => string | undefined {
  const headerName = location.header === undefined ? 'pipl-consent' : location.header;
  const cookieName = location.cookie;
  const authorization = location.authorization === true;
  if (headerName !== false && !TOKEN_NAME.test(headerName.toLowerCase())) {
    throw new PiplConfigError(`token.header "${headerName}" is not a valid header name`);
  }
  if (headerName === false && !cookieName && !authorization) {
    throw new PiplConfigError('token: switch on at least one of header, cookie or authorization');
  }
  const header = headerName === false ? undefined : headerName.toLowerCase();
  const cookiePrefix = cookieName ? `${cookieName}=` : undefined;

  return function extractConsentToken(read) {
    let found: string | undefined;
    let places = 0;
    if (header) {
      const value = single(read(header));
      if (value !== undefined) {
        found = value;
        places++;
      }
    }
    if (authorization) {
      const value = single(read('authorization'));
      if (value !== undefined && value.length > 7 && value.slice(0, 7).toLowerCase() === 'bearer ') {
        found = value.slice(7).trim();
        places++;
      }
    }
    if (cookiePrefix) {
      const value = readCookie(cookieLine(read('cookie')), cookiePrefix);
      if (value !== undefined) {
        found = value;
        places++;
      }
    }
    // RFC 6750 §2: a client MUST NOT use more than one method; two tokens are refused, not chosen between.
    if (places > 1)
      throw new PiplGuardError('token_ambiguous', 'Send the consent token in exactly one place');
    if (found?.includes(',')) {
      throw new PiplGuardError('token_ambiguous', 'The consent header carries more than one value');
    }
    return found === '' ? undefined : found;
  };
}

/** RFC 9110 §5.3: a header that is not a list may appear once; two values are refused, not chosen between. */
function single(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) {
    if (value.length > 1)
      throw new PiplGuardError('token_ambiguous', 'The consent token header was sent more than once');
    return value[0];
  }
  return value;
}

/** Cookie header lines form one list (RFC 6265 §5.4; HTTP/2 sends each cookie on its own line). */
function cookieLine(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join('; ') : value;
}

function readCookie(cookieHeader: string | undefined, prefix: string): string | undefined {
  if (!cookieHeader) return undefined;
  let found: string | undefined;
  for (const part of cookieHeader.split(';')) {
    const pair = part.trim();
    if (pair.startsWith(prefix)) {
      if (found !== undefined)
        throw new PiplGuardError('token_ambiguous', 'The consent cookie was sent more than once');
      found = pair.slice(prefix.length);
    }
  }
  return found;
}
