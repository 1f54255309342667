/**
 * `envctl/testing`: environments for test suites. See the README's "Testing API" section.
 */
export { startEnvironment, type ExecResult, type ServiceAddress, type StartEnvironmentOptions, type TestEnvironment } from './start-environment.js';
export type { WaitFor, WaitStrategy } from './wait-strategies.js';
export type { EnvctlEvent } from '../events.js';
export { EnvctlError } from '../errors.js';
