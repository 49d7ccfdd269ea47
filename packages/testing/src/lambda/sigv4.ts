// Verifies the AWS Signature Version 4 of a request the loopback Lambda server received, as Lambda's front end does:
// the request is signed again with the AWS SDK's own signer (@smithy/signature-v4, the one @aws-sdk/core uses) from
// the secret of the access key it names, over exactly the headers it says it signed, and the two signatures must be
// equal. Nothing here computes a signature by hand.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Sha256 } from "@smithy/core/checksum";
import { SignatureV4 } from "@smithy/signature-v4";

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;
/** How far a request's X-Amz-Date may be from the server's clock (AWS: 5 minutes). */
const MAX_SKEW_MS = 5 * 60 * 1000;

/** Why a request was refused: AWS's status, error type and message. */
export class SignatureError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Resolves when a request's signature is right; rejects with a SignatureError otherwise. */
export type SignatureVerifier = (req: IncomingMessage, body: Buffer) => Promise<void>;

/** Credentials a verifier knows. */
export interface VerifierCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

const MISMATCH =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/** `20261125T165420Z` → Date, or undefined. */
function amzDate(s: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? "");
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

/** The query string as the SDK's HttpRequest holds it: decoded names to decoded values (arrays when repeated). */
function parseQuery(raw: string): Record<string, string | string[] | null> {
  const query: Record<string, string | string[] | null> = {};
  if (!raw) return query;
  for (const pair of raw.split("&")) {
    if (!pair) continue;
    const eq = pair.indexOf("=");
    const k = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const v = eq < 0 ? null : decodeURIComponent(pair.slice(eq + 1));
    const prev = query[k];
    query[k] = (prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]) as string | string[] | null;
  }
  return query;
}

/**
 * Makes a verifier for one region and service that knows the given credentials (the keys the server's callers hold).
 * `verify(req, body)` resolves when the signature is right and rejects with a SignatureError otherwise.
 */
export function sigV4Verifier(o: { region: string; service: string; credentials: VerifierCredentials[]; now?: () => number }): SignatureVerifier {
  const known = new Map<string, { sessionToken: string | undefined; signer: SignatureV4 }>();
  for (const c of o.credentials) {
    known.set(c.accessKeyId, {
      sessionToken: c.sessionToken,
      signer: new SignatureV4({
        credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
        region: o.region,
        service: o.service,
        sha256: Sha256,
        // The payload hash is taken from the body, or from an X-Amz-Content-Sha256 the client signed (checked below).
        applyChecksum: false,
        // S3 signs the path as sent (keys are escaped once); every other service escapes it a second time.
        uriEscapePath: o.service !== "s3",
      }),
    });
  }
  const now = o.now ?? Date.now;

  return async function verify(req, body) {
    const header = req.headers.authorization;
    if (header === undefined) throw new SignatureError(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
    const m = AUTH.exec(String(header));
    if (!m) {
      throw new SignatureError(400, "IncompleteSignatureException", `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=${String(header).slice(0, 64)}`);
    }
    // Every group of AUTH matches when the whole does.
    const [, accessKeyId, shortDate, region, service, signedList, signature] = m as unknown as [string, string, string, string, string, string, string];
    const key = known.get(accessKeyId);
    if (!key) throw new SignatureError(403, "UnrecognizedClientException", "The security token included in the request is invalid.");
    if (region !== o.region) throw new SignatureError(403, "InvalidSignatureException", `Credential should be scoped to a valid region, not '${region}'.`);
    if (service !== o.service) throw new SignatureError(403, "InvalidSignatureException", `Credential should be scoped to correct service: '${o.service}'.`);
    const signed = signedList.split(";");
    if (!signed.includes("host")) throw new SignatureError(403, "InvalidSignatureException", "'Host' must be a 'SignedHeader' in the AWS Authorization.");
    const longDate = req.headers["x-amz-date"];
    const date = amzDate(typeof longDate === "string" ? longDate : undefined);
    if (!date || longDate === undefined || !signed.includes("x-amz-date")) {
      throw new SignatureError(400, "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    }
    if (longDate.slice(0, 8) !== shortDate) throw new SignatureError(403, "InvalidSignatureException", `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${shortDate}' != '${longDate.slice(0, 8)}'`);
    const skew = date.getTime() - now();
    if (Math.abs(skew) > MAX_SKEW_MS) {
      const fmt = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, "");
      throw new SignatureError(
        403,
        "InvalidSignatureException",
        skew < 0
          ? `Signature expired: ${longDate} is now earlier than ${fmt(now() - MAX_SKEW_MS)} (${fmt(now())} - 5 min.)`
          : `Signature not yet current: ${longDate} is still later than ${fmt(now() + MAX_SKEW_MS)} (${fmt(now())} + 5 min.)`,
      );
    }
    const token = req.headers["x-amz-security-token"];
    if ((key.sessionToken ?? undefined) !== (token ?? undefined) || (token !== undefined && !signed.includes("x-amz-security-token"))) {
      throw new SignatureError(403, "UnrecognizedClientException", "The security token included in the request is invalid.");
    }
    const headers: Record<string, string> = {};
    for (const name of signed) {
      const v = req.headers[name];
      if (v === undefined) throw new SignatureError(403, "InvalidSignatureException", MISMATCH);
      headers[name] = Array.isArray(v) ? v.join(",") : v;
    }
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const request = {
      method: req.method ?? "GET",
      protocol: "http:",
      hostname: String(req.headers.host ?? "").replace(/:\d+$/, ""),
      path: q < 0 ? url : url.slice(0, q),
      query: parseQuery(q < 0 ? "" : url.slice(q + 1)),
      headers,
      body,
    };
    const claimed = headers["x-amz-content-sha256"];
    if (claimed !== undefined && claimed !== "UNSIGNED-PAYLOAD") {
      const h = new Sha256();
      h.update(body);
      const actual = Buffer.from(await h.digest()).toString("hex");
      // The signature covers the claimed hash; the body must match it too (S3 answers 400 XAmzContentSHA256Mismatch,
      // Lambda has no such code: refused as a signature that does not match).
      if (actual !== claimed) throw new SignatureError(403, "InvalidSignatureException", MISMATCH);
    }
    const again = await key.signer.sign(request, { signingDate: date, signableHeaders: new Set(signed) });
    const expected = /Signature=([0-9a-f]{64})$/.exec(String(again.headers.authorization))?.[1] ?? "";
    if (expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
      throw new SignatureError(403, "InvalidSignatureException", MISMATCH);
    }
  };
}
