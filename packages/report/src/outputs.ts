import type { Comparison } from "./schema.js";

const show = (v: unknown) => {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/**
 * Where two JSON values first differ, as `path: a vs b` (paths like `output.items[3].label`), or null when their
 * JSON is identical. Object keys are compared as sets, so key order does not matter.
 */
export function firstDifference(a: unknown, b: unknown, path = "output"): string | null {
  if (Object.is(a, b)) return null;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") {
    // Numbers that JSON writes the same (0 and -0) agree.
    if (typeof a === "number" && typeof b === "number" && JSON.stringify(a) === JSON.stringify(b)) return null;
    return `${path}: ${show(a)} vs ${show(b)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: ${show(a)} vs ${show(b)}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return a.length === b.length ? null : `${path}: ${a.length} items vs ${b.length}`;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].filter((k) => ao[k] !== undefined || bo[k] !== undefined);
  for (const k of keys) {
    const sub = /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`;
    if (!(k in ao) || ao[k] === undefined) return `${sub}: missing vs ${show(bo[k])}`;
    if (!(k in bo) || bo[k] === undefined) return `${sub}: ${show(ao[k])} vs missing`;
    const d = firstDifference(ao[k], bo[k], sub);
    if (d) return d;
  }
  return null;
}

/** One run's output to check, or none when the run failed. */
export interface OutputToCheck {
  label: string;
  output?: unknown;
  hasOutput: boolean;
}

/**
 * Checks every output against the first one there is, with the job's own `equal` when it has one (a tolerance, or
 * fields that name the platform) and JSON equality otherwise.
 */
export function compareOutputs(runs: readonly OutputToCheck[], equal?: (a: unknown, b: unknown) => boolean): Comparison {
  const ref = runs.find((r) => r.hasOutput);
  const outputs: Comparison["outputs"] = runs.map((r) => {
    if (!r.hasOutput || !ref) return { label: r.label, agrees: null };
    if (r === ref) return { label: r.label, agrees: true };
    const difference = firstDifference(ref.output, r.output);
    const agrees = equal ? equal(ref.output, r.output) : difference === null;
    if (agrees) return { label: r.label, agrees };
    return { label: r.label, agrees, difference: difference ?? "the job's equal() says the outputs differ" };
  });
  return { reference: ref?.label ?? null, agree: outputs.every((o) => o.agrees !== false), outputs };
}
