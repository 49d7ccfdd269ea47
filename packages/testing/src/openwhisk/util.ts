// Small helpers the emulator's parts share.
import { randomBytes } from "node:crypto";

/** `bytes` random bytes in hex: activation ids, error codes, container names. */
export const hex = (bytes: number): string => randomBytes(bytes).toString("hex");

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A JSON object's value, or undefined when the text is not one. */
export function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
