// What answered when an API did not: a proxy's login or error page, a captive portal, a web server on the wrong
// port. Every client (S3, Lambda, OpenWhisk) names it the same way, in one line, so the user sees where the
// request went rather than a parser's complaint about a `<`.

/** Whether a body is an HTML page. */
export function isHtml(body: unknown): boolean {
  return typeof body === "string" && /<\s*(!doctype\s+html|html|head|body)\b/i.test(body.slice(0, 4096));
}

/** Most characters of a foreign answer's own words quoted in an error line. */
const WORDS_LIMIT = 80;

/** Text on one line, cut to `limit` characters. */
const oneLine = (text: string, limit: number): string => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const flat = text.replace(/[\u0000-\u001f\u007f\s]+/g, " ").trim();
  return flat.length <= limit ? flat : `${flat.slice(0, limit)}…`;
};

/** The words a person sees first on an HTML page: its title, else the start of its text. */
function pageWords(html: string): string {
  const title = /<title[^>]*>([^<]*)</i.exec(html)?.[1];
  const text = title?.trim()
    ? title
    : html
        .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, " ")
        .replace(/<[^>]*>/g, " ")
        .replace(/&nbsp;/g, " ");
  return oneLine(text.replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'"), WORDS_LIMIT);
}

/** What one HTTP answer was: its status, its content type and its body (as text). */
export interface ForeignAnswer {
  status?: number;
  /** The Content-Type header; null when the answer had none, absent when it is not known. */
  contentType?: string | null;
  body: string;
}

/**
 * An answer that is not the API's, for one error line: `an HTML page "Sign in" (HTTP 200, text/html)`,
 * `text "Bad gateway" (HTTP 502, text/plain)`, `an empty answer (HTTP 200, no content type)`.
 */
export function describeAnswer(answer: ForeignAnswer): string {
  // undefined: not known (not said); null or empty: the answer had none.
  const type = answer.contentType === undefined ? undefined : answer.contentType?.split(";")[0]?.trim().toLowerCase() || "no content type";
  const said = [answer.status !== undefined ? `HTTP ${answer.status}` : "", type ?? ""].filter(Boolean);
  const meta = said.length ? ` (${said.join(", ")})` : "";
  const body = answer.body;
  if (!body.trim()) return `an empty answer${meta}`;
  if (isHtml(body) || type === "text/html") {
    const words = pageWords(body);
    return `an HTML page${words ? ` ${JSON.stringify(words)}` : ""}${meta}`;
  }
  return `text ${JSON.stringify(oneLine(body, WORDS_LIMIT))}${meta}`;
}
