// Where superfaas keeps this user's files (the bundle cache, the run journals), and the check that nobody else can
// own, swap or write those folders: bundles are loaded and journals hold inputs and results.
import { existsSync, lstatSync, mkdirSync, type Stats } from "node:fs";
import { homedir, tmpdir, userInfo } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import type { SuperfaasError } from "../errors.js";

const BASES = { state: { env: "XDG_STATE_HOME", home: [".local", "state"] }, cache: { env: "XDG_CACHE_HOME", home: [".cache"] } } as const;

/**
 * This user's superfaas folder of a kind: `$XDG_<KIND>_HOME/superfaas[/sub]` (else under `~/.local/state` or
 * `~/.cache`), or, with no home directory (a service account), `superfaas-<uid>/<sub or kind>` in the temporary folder.
 */
export function userDir(kind: keyof typeof BASES, sub?: string): string {
  const base = BASES[kind];
  const tail = sub ? ["superfaas", sub] : ["superfaas"];
  const xdg = process.env[base.env];
  if (xdg && isAbsolute(xdg)) return join(xdg, ...tail);
  let home = "";
  try {
    home = homedir();
  } catch {
    // No home directory: the private temporary folder below.
  }
  if (home && home !== "/" && existsSync(home)) return join(home, ...base.home, ...tail);
  const uid = process.getuid?.() ?? userInfo().username;
  return join(tmpdir(), `superfaas-${uid}`, sub ?? kind);
}

/** `dir`, then each parent of it for which `upTo` holds, up to the first for which it does not (or the root). */
function* chain(dir: string, upTo: (parent: string) => boolean): Generator<string> {
  yield dir;
  for (let d = dirname(dir); upTo(d); d = dirname(d)) {
    yield d;
    if (dirname(d) === d) return;
  }
}

const isPrivate = (st: Stats, uid: number | undefined) => !st.isSymbolicLink() && st.isDirectory() && (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;

/**
 * Throws `refuse(folder)` when `dir`, or a parent of it for which `upTo` holds, is a link, not a folder, another
 * user's, or writable by group or others. Nothing to check on Windows (no such modes).
 */
export function checkPrivateDir(dir: string, upTo: (parent: string) => boolean, refuse: (folder: string) => SuperfaasError): void {
  if (process.platform === "win32") return;
  const uid = process.getuid?.();
  for (const d of chain(dir, upTo)) if (!isPrivate(lstatSync(d), uid)) throw refuse(d);
}

/**
 * Makes `dir` (and its missing parents) private to this user (0700), and checks it as `checkPrivateDir` does. The
 * folders of the chain that are there already are checked first: a refused folder gets nothing new made in it.
 */
export function makePrivateDir(dir: string, upTo: (parent: string) => boolean, refuse: (folder: string) => SuperfaasError): void {
  if (process.platform !== "win32") {
    const uid = process.getuid?.();
    for (const d of chain(dir, upTo)) {
      let st: Stats;
      try {
        st = lstatSync(d);
      } catch {
        continue; // not there yet: made below
      }
      if (!isPrivate(st, uid)) throw refuse(d);
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Again once all is there: what was made, and anything swapped meanwhile.
  checkPrivateDir(dir, upTo, refuse);
}
