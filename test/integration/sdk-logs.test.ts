import { dispose } from '@livekit/rtc-node';
import { BotConnection } from '../../src/livekit/bot-connection';
import { MusicTrack } from '../../src/livekit/music-track';
import { stopSdkLogForwarding } from '../../src/livekit/sdk-logs';
import { LIVEKIT_KEY, LIVEKIT_SECRET, stackInfo } from '../support/stack';

interface FfiEventLike {
  message: { case?: string };
}

/**
 * In this process, against the real LiveKit server: once log forwarding is stopped, the SDK sends
 * no log events while a bot streams, and the events rtc-node needs (capture callbacks) still flow.
 */
describe('LiveKit SDK log forwarding', () => {
  afterAll(async () => {
    await dispose();
  });

  test('stopped after the first join: no log events while a track streams, capture callbacks still arrive', async () => {
    const bot = await BotConnection.join({ url: stackInfo().livekitUrl, apiKey: LIVEKIT_KEY, apiSecret: LIVEKIT_SECRET, identity: 'sdk-logs-bot', name: 'bot', room: 'sdk-logs', timeoutMs: 10000 }, new AbortController().signal);
    const track = new MusicTrack(bot.participant, { format: { sampleRate: 48000, channels: 1 }, queueMs: 200, bitrate: 96000 });
    try {
      expect(stopSdkLogForwarding()).toBe('stopped');
      expect(stopSdkLogForwarding()).toBe('already stopped');

      const seen: Record<string, number> = {};
      const client = (globalThis as { _ffiClientInstance?: { on(e: 'ffi_event', l: (ev: FfiEventLike) => void): void } })._ffiClientInstance!;
      client.on('ffi_event', (ev) => {
        const kind = ev.message.case ?? 'none';
        seen[kind] = (seen[kind] ?? 0) + 1;
      });
      // Publishing and a second of audio: ICE and the encoder log at debug level all the while.
      // Records the SDK queued before the switch may still arrive during the first frames.
      await track.publish();
      const tone = (i: number) => new Int16Array(960).map((_, n) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * (i * 960 + n)) / 48000)));
      for (let i = 0; i < 10; i++) await track.capture(tone(i));
      for (const k of Object.keys(seen)) delete seen[k];
      for (let i = 10; i < 60; i++) {
        await track.capture(tone(i));
      }
      expect(seen.captureAudioFrame).toBe(50);
      expect(seen.logs ?? 0).toBe(0);
    } finally {
      await track.unpublish();
      await bot.leave();
    }
  });
});
