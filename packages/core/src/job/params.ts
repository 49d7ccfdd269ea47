import { SuperfaasError } from "../errors.js";

/** The kinds of job parameters the CLI can turn into flags. `count` is a non-negative integer that accepts 1e9 and 1_000_000_000. */
export type ParamType = "count" | "integer" | "number" | "string" | "boolean";

/** One job parameter: its kind, default and help text; becomes the CLI flag `--<name>`. */
export interface ParamSpec<K extends ParamType = ParamType> {
  type: K;
  default: ParamValue<K>;
  description: string;
  min?: number;
  max?: number;
  /** For string parameters: the only values accepted (`--kernel wasm|js`); anything else is rejected, naming them. */
  choices?: readonly string[];
}

/** The TypeScript type of a parameter kind. */
export type ParamValue<K extends ParamType> = K extends "string" ? string : K extends "boolean" ? boolean : number;

/** A job's parameter specs, keyed by name. */
export type ParamSpecs = Record<string, ParamSpec>;

/** The value type of one spec: the union of its choices when it has them, else its kind's type. */
export type SpecValue<S extends ParamSpec> = S extends { choices: readonly (infer C extends string)[] } ? C : ParamValue<S["type"]>;

/** The input object a job with these params receives. */
export type InputOf<P extends ParamSpecs> = { [K in keyof P]: SpecValue<P[K]> };

/**
 * Parses a count the way people write them: `1000000000`, `1e9`, `1_000_000_000`, `2.5e6`.
 * Returns NaN for anything that is not a non-negative safe integer.
 */
export function parseCount(text: string): number {
  const t = text.trim().replace(/_/g, "");
  if (!/^(\d+(\.\d*)?|\.\d+)(e\+?\d+)?$/i.test(t)) return Number.NaN;
  const n = Number(t);
  return Number.isSafeInteger(n) && n >= 0 ? n : Number.NaN;
}

function describeExpected(name: string, spec: ParamSpec): string {
  if (spec.choices) return `--${name} takes one of: ${spec.choices.join(", ")}`;
  const range = [spec.min !== undefined ? `>= ${spec.min}` : "", spec.max !== undefined ? `<= ${spec.max}` : ""].filter(Boolean).join(" and ");
  const kind = {
    count: "a whole number such as 1000000, 1e6 or 1_000_000",
    integer: "an integer",
    number: "a number",
    string: "a text value",
    boolean: "true or false",
  }[spec.type];
  return `--${name} takes ${kind}${range ? ` ${range}` : ""}`;
}

/** Converts one raw value (a CLI string or a library value) into the parameter's type, or throws BAD_INPUT. */
export function coerceParam(name: string, spec: ParamSpec, raw: unknown): ParamValue<ParamType> {
  const bad = (why: string): never => {
    throw new SuperfaasError("BAD_INPUT", `invalid value ${JSON.stringify(raw)} for ${name}: ${why}`, describeExpected(name, spec));
  };
  let v: ParamValue<ParamType>;
  switch (spec.type) {
    case "count":
      v = typeof raw === "number" ? raw : typeof raw === "string" ? parseCount(raw) : Number.NaN;
      if (!Number.isSafeInteger(v) || v < 0) bad("not a non-negative whole number");
      break;
    case "integer":
      v = typeof raw === "number" ? raw : typeof raw === "string" && /^-?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(v)) bad("not an integer");
      break;
    case "number":
      v = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : Number.NaN;
      if (!Number.isFinite(v)) bad("not a number");
      break;
    case "boolean":
      v = raw === true || raw === "true" ? true : raw === false || raw === "false" ? false : bad("not true or false");
      break;
    default:
      v = typeof raw === "string" ? raw : bad("not a string");
  }
  if (spec.choices && !spec.choices.includes(String(v))) bad(`not one of ${spec.choices.join(", ")}`);
  if (typeof v === "number") {
    if (spec.min !== undefined && v < spec.min) bad(`below the minimum ${spec.min}`);
    if (spec.max !== undefined && v > spec.max) bad(`above the maximum ${spec.max}`);
  }
  return v;
}

/**
 * Rejects specs that could never work, when the job is defined rather than when a user first trips on them:
 * choices on a non-string parameter, an empty list of choices, or a default that is not one of them.
 */
export function checkParamSpecs(specs: ParamSpecs): void {
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.choices === undefined) continue;
    const bad = (why: string): never => {
      throw new SuperfaasError("BAD_INPUT", `defineJob: params.${name}: ${why}`, "give a string parameter a non-empty list of choices that includes its default");
    };
    if (spec.type !== "string") bad(`choices are for string parameters, not ${spec.type}`);
    if (spec.choices.length === 0) bad("choices is empty");
    if (!spec.choices.includes(spec.default as string)) bad(`the default ${JSON.stringify(spec.default)} is not one of the choices (${spec.choices.join(", ")})`);
  }
}

/** Builds a job's input from partial raw values: fills defaults, coerces, and rejects unknown names. */
export function resolveParams<P extends ParamSpecs>(specs: P, raw: Record<string, unknown>): InputOf<P> {
  for (const key of Object.keys(raw)) {
    if (!(key in specs)) {
      const known = Object.keys(specs).map((k) => `--${k}`).join(", ") || "none";
      throw new SuperfaasError("BAD_INPUT", `unknown parameter ${JSON.stringify(key)}`, `this job's parameters are: ${known}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    out[name] = raw[name] === undefined ? spec.default : coerceParam(name, spec, raw[name]);
  }
  return out as InputOf<P>;
}
