/**
 * Where payloads too large to travel inline wait for the other side: task inputs the platform would refuse and
 * partials over its result limit. Keys are plain strings under a per-run prefix that `deletePrefix` cleans up.
 */
export interface ObjectStore {
  put(key: string, body: string): Promise<void>;
  get(key: string): Promise<string>;
  /** Whether an object exists under `key` (the remote side checks the run's owner marker with it). */
  has(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  deletePrefix(prefix: string): Promise<void>;
}

/** Bytes of a string in UTF-8, without allocating a buffer. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}
