// What a suite file imports: `defineSuite` and the types and names its scenarios use. A suite is
// one file: `export const suite = defineSuite({...})`, then `suite.scenario(name, title, body)`.
export { defineSuite, type ScenarioOptions, type Suite, type SuiteOptions } from './suite.ts';
export { CAPABILITIES, type Capability, type Need, type NodePolicy } from './declaration.ts';
export type { HomeNode, RegistryRequest, RunEnv } from './env.ts';
export type { PushedImage, PushedTestImage, ScenarioContext } from './scenario.ts';
export { claim, podWhere } from './expectations.ts';
export {
  EventReason,
  imageIdOf,
  NOT_FOUND,
  PULL_FAILED_REASONS,
  ranToCompletion,
  UNAUTHORIZED,
  UNTRUSTED_CERTIFICATE,
  WaitingReason,
  type PodVerdict,
} from './pods.ts';
export { managedLabels } from '../infra/docker.ts';
export type { TestRegistry } from '../registry/registry.ts';
export type { RegistryCredential } from '../registry/secrets.ts';
