// What the CLI prints comes from a log anyone with write access could have crafted. A terminal
// obeys escape sequences (ESC [ 2 K erases the problem line and leaves "VALID" on screen) and bidi
// controls reorder what is shown (CVE-2021-42574, "Trojan Source"), so every text line passes
// through `printable` and every JSON line through `jsonSafe`.

/** C0 and C1 controls, DEL, bidi and invisible format characters, line separators, lone surrogates. */
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

// Outside strings JSON text has only structural whitespace; inside, `JSON.stringify` escapes C0
// and lone surrogates itself.
const UNSAFE_IN_JSON =
  /[\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\ufff9-\ufffb]/g;

/** Text safe to print on a terminal: unsafe characters become visible `\u{…}` escapes. */
export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u{${(c.codePointAt(0) as number).toString(16)}}`);
}

/**
 * JSON text with the characters `JSON.stringify` leaves raw (DEL, C1, bidi and format characters,
 * which can only occur inside strings) written as `\uXXXX`: the same JSON value, safe on a terminal.
 */
export function jsonSafe(json: string): string {
  return json.replace(
    UNSAFE_IN_JSON,
    (c) => `\\u${(c.charCodeAt(0) as number).toString(16).padStart(4, '0')}`,
  );
}

/** Writes one line of text, made printable, to a stream. */
export function say(stream: NodeJS.WritableStream, text: string): void {
  stream.write(`${printable(text)}\n`);
}

/**
 * Columns a string takes on a terminal: East Asian wide and fullwidth characters (CJK, Hangul,
 * fullwidth forms, most emoji) take two, combining marks none (after `printable`, no controls remain).
 */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (/\p{Mn}|\p{Me}/u.test(char)) continue;
    width += isWide(code) ? 2 : 1;
  }
  return width;
}

function isWide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0x303e) ||
    (code >= 0x3041 && code <= 0x33ff) ||
    (code >= 0x3400 && code <= 0x4dbf) ||
    (code >= 0x4e00 && code <= 0x9fff) ||
    (code >= 0xa000 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f900 && code <= 0x1f9ff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}

/** Cuts or pads a cell to exactly `width` columns. */
function fitCell(cell: string, width: number, alignRight: boolean): string {
  let text = cell;
  if (displayWidth(text) > width) {
    let out = '';
    let used = 0;
    for (const char of text) {
      const w = displayWidth(char);
      if (used + w > width - 1) break;
      out += char;
      used += w;
    }
    text = `${out}…`;
  }
  const pad = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return alignRight ? pad + text : text + pad;
}

export interface Column {
  title: string;
  /** Widest the column gets; longer cells are cut with `…` (the JSON and CSV formats keep all). */
  max: number;
  alignRight?: boolean;
}

/**
 * An aligned table printed as rows arrive. Widths come from the first `sample` rows (so memory
 * stays bounded on a query of millions of rows), each column at most its `max`.
 */
export function streamTable(columns: readonly Column[], write: (line: string) => void, sample = 200) {
  const pending: string[][] = [];
  let widths: number[] | undefined;
  const emit = (cells: readonly string[]) => {
    const w = widths as number[];
    write(
      cells
        .map((cell, i) => fitCell(cell, w[i] as number, columns[i]?.alignRight === true))
        .join('  ')
        .trimEnd(),
    );
  };
  const start = () => {
    widths = columns.map((column, i) =>
      Math.min(
        column.max,
        Math.max(displayWidth(column.title), ...pending.map((row) => displayWidth(row[i] ?? ''))),
      ),
    );
    emit(columns.map((column) => column.title));
    for (const row of pending) emit(row);
    pending.length = 0;
  };
  return {
    row(cells: readonly string[]): void {
      const safe = cells.map(printable);
      if (widths) emit(safe);
      else {
        pending.push(safe);
        if (pending.length >= sample) start();
      }
    },
    end(): void {
      if (!widths) start();
    },
  };
}

/**
 * Formats RFC 3339 times for display in an IANA time zone (`Asia/Shanghai`), e.g.
 * `2026-11-01 08:00:00.000 +08:00`; without a zone, times stay as stored (UTC, `Z`).
 * Throws a RangeError for an unknown zone.
 */
export function timeFormatter(timeZone: string | undefined): (iso: string | undefined) => string {
  if (timeZone === undefined) return (iso) => iso ?? '-';
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    fractionalSecondDigits: 3,
    timeZoneName: 'longOffset',
  });
  return (iso) => {
    if (iso === undefined) return '-';
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return iso;
    const parts: Record<string, string> = {};
    for (const part of format.formatToParts(ms)) parts[part.type] = part.value;
    const offset = (parts.timeZoneName ?? 'GMT').replace('GMT', '') || '+00:00';
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}.${parts.fractionalSecond} ${offset}`;
  };
}
