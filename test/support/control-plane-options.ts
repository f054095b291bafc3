import type { ControlPlaneOptions } from '../../src/mqtt/control-plane';

/** ControlPlane options for unit tests: a local broker, no TLS, default limits; override what a test needs. */
export function controlPlaneOptions(over: Partial<ControlPlaneOptions> = {}): ControlPlaneOptions {
  return {
    url: 'mqtt://127.0.0.1:1883',
    username: '',
    password: '',
    clientId: 'mb',
    baseTopic: 'mb',
    caFile: '',
    certFile: '',
    keyFile: '',
    rejectUnauthorized: true,
    maxPayloadBytes: 4096,
    allowedDevices: [],
    responseTopicPrefixes: [],
    commandsPerSecond: 10,
    commandBurst: 20,
    statusTtlSeconds: 0,
    info: () => ({ version: 'test' }),
    ...over,
  };
}
