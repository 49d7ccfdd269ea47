import { Container } from "inversify";
import { SuperfaasError, type BackendDescriptor } from "@superfaas/core";
import { localBackendDescriptor } from "@superfaas/backend-local";
// The cloud backends' descriptors only: their adapters (and the AWS SDK) load when a backend of theirs is created.
import { openWhiskBackendDescriptor } from "@superfaas/backend-openwhisk/descriptor";
import { lambdaBackendDescriptor } from "@superfaas/backend-lambda/descriptor";

/** The service identifier under which backends are bound, each named after itself. */
export const BACKEND = Symbol.for("superfaas.backend");

/** The backends this build of the CLI ships, in the order `superfaas backends` lists them. */
export const builtInBackends: BackendDescriptor<never>[] = [
  localBackendDescriptor as BackendDescriptor<never>,
  openWhiskBackendDescriptor as BackendDescriptor<never>,
  lambdaBackendDescriptor as BackendDescriptor<never>,
];

/** The identifier under which every backend is bound once more, unnamed, so all of them can be listed. */
export const BACKEND_LIST = Symbol.for("superfaas.backend-list");

/** The composition root: binds every backend descriptor by name. */
export function createContainer(backends: BackendDescriptor<never>[] = builtInBackends): Container {
  const container = new Container();
  for (const b of backends) {
    container.bind<BackendDescriptor<never>>(BACKEND).toConstantValue(b).whenNamed(b.name);
    container.bind<BackendDescriptor<never>>(BACKEND_LIST).toConstantValue(b);
  }
  return container;
}

/** All registered backends. */
export function listBackends(container: Container): BackendDescriptor<never>[] {
  return container.getAll<BackendDescriptor<never>>(BACKEND_LIST);
}

/** Resolves `--backend NAME`; an unknown name fails with the list of known ones. */
export function resolveBackend(container: Container, name: string): BackendDescriptor<never> {
  if (!container.isBound(BACKEND, { name })) {
    const known = listBackends(container).map((b) => b.name).join(", ");
    throw new SuperfaasError("UNKNOWN_BACKEND", `unknown backend ${JSON.stringify(name)}`, `choose one of: ${known}`);
  }
  return container.get<BackendDescriptor<never>>(BACKEND, { name });
}
