import { Topics } from '../../src/mqtt/topics';

describe('Topics', () => {
  const t = new Topics('music-bridge');

  test('per-device and bridge topics follow the documented layout', () => {
    expect(t.commandFilter).toBe('music-bridge/+/command');
    expect(t.command('aabbccddeeff')).toBe('music-bridge/aabbccddeeff/command');
    expect(t.reply('aabbccddeeff')).toBe('music-bridge/aabbccddeeff/reply');
    expect(t.status('aabbccddeeff')).toBe('music-bridge/aabbccddeeff/status');
    expect([t.availability, t.info, t.bridgeStatus, t.errors]).toEqual(['music-bridge/bridge/state', 'music-bridge/bridge/info', 'music-bridge/bridge/status', 'music-bridge/bridge/errors']);
  });

  test('deviceOfStatus returns the device segment of a status topic only', () => {
    expect(t.statusFilter).toBe('music-bridge/+/status');
    expect(t.deviceOfStatus(t.status('aabbccddeeff'))).toBe('aabbccddeeff');
    expect(t.deviceOfStatus('music-bridge/status')).toBeUndefined();
    expect(t.deviceOfStatus('music-bridge/a/b/status')).toBeUndefined();
    expect(t.deviceOfStatus(t.command('aabbccddeeff'))).toBeUndefined();
  });

  test('instance reports: one retained status and info topic per instance, and their instance segment', () => {
    expect(t.instanceReport('ia', 'status')).toBe('music-bridge/bridge/instances/ia/status');
    expect(t.instanceReportFilter('info')).toBe('music-bridge/bridge/instances/+/info');
    expect(t.instanceOfReport('music-bridge/bridge/instances/ia/status', 'status')).toBe('ia');
    expect(t.instanceOfReport('music-bridge/bridge/instances/ia/status', 'info')).toBeUndefined();
    expect(t.instanceOfReport('music-bridge/bridge/instances/ia', 'status')).toBeUndefined();
    expect(t.instanceOfReport('music-bridge/bridge/instances/a/b/status', 'status')).toBeUndefined();
    expect(t.instanceOfReport('music-bridge/bridge/status', 'status')).toBeUndefined();
  });

  test('deviceOfCommand returns the raw device segment of a command topic', () => {
    expect(t.deviceOfCommand('music-bridge/AA-BB-CC-DD-EE-FF/command')).toBe('AA-BB-CC-DD-EE-FF');
    expect(t.deviceOfCommand(t.command('kitchen'))).toBe('kitchen');
    // An empty level matches the "+" filter; device-id validation refuses it later.
    expect(t.deviceOfCommand('music-bridge//command')).toBe('');
  });

  test.each([
    'music-bridge/command',
    'music-bridge/a/b/command',
    'music-bridge/dev/reply',
    'music-bridge/dev/command/extra',
    'other/dev/command',
    'music-bridgex/dev/command',
    '',
  ])('%j is not a command topic', (topic) => {
    expect(t.deviceOfCommand(topic)).toBeUndefined();
  });

  test('a multi-level base works the same way', () => {
    const home = new Topics('home/audio');
    expect(home.commandFilter).toBe('home/audio/+/command');
    expect(home.deviceOfCommand('home/audio/dev1/command')).toBe('dev1');
    expect(home.deviceOfCommand('home/dev1/command')).toBeUndefined();
  });
});
