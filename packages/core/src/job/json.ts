import { SuperfaasError } from "../errors.js";

/** A JSON value: what tasks and partials must be so they can cross any wire unchanged. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Returns the path and reason of the first part of `value` that does not survive JSON unchanged
 * (undefined, functions, symbols, BigInt, NaN/Infinity, class instances such as Map or Date), or null.
 */
export function findNonJson(value: unknown, path = ""): string | null {
  const seen = new Set<object>();
  const walk = (v: unknown, p: string): string | null => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return null;
      case "number":
        return Number.isFinite(v) ? null : `${p || "(root)"} is ${v}, which JSON cannot hold`;
      case "object": {
        if (v === null) return null;
        if (seen.has(v)) return `${p || "(root)"} is a circular reference`;
        seen.add(v);
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            const r = walk(v[i], `${p}[${i}]`);
            if (r) return r;
          }
        } else {
          const proto = Object.getPrototypeOf(v);
          if (proto !== Object.prototype && proto !== null) {
            return `${p || "(root)"} is a ${v.constructor?.name ?? "class instance"}, not a plain object`;
          }
          for (const k of Object.keys(v)) {
            const r = walk((v as Record<string, unknown>)[k], `${p}.${k}`);
            if (r) return r;
          }
        }
        seen.delete(v);
        return null;
      }
      default:
        return `${p || "(root)"} is ${typeof v === "bigint" ? "a BigInt" : typeof v === "undefined" ? "undefined" : `a ${typeof v}`}, which JSON cannot hold`;
    }
  };
  return walk(value, path);
}

/** Throws NOT_JSON naming `what` (e.g. "task 3") when `value` would not survive a JSON round trip. */
export function assertJson(value: unknown, what: string): void {
  const problem = findNonJson(value);
  if (problem) {
    throw new SuperfaasError(
      "NOT_JSON",
      `${what} is not JSON-serializable: ${problem}`,
      "tasks and partials must be plain JSON (objects, arrays, strings, finite numbers, booleans, null); encode binary data as base64 and big integers as strings",
    );
  }
}

/** JSON with object keys sorted (undefined values left out): equal values give equal text whatever their key order. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
