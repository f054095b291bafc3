import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeviceStatus, SessionState } from '../session/status';

const STATES: SessionState[] = ['starting', 'playing', 'paused', 'reconnecting', 'degraded', 'error'];

/**
 * The daemon's Prometheus metrics, on a registry of its own (not prom-client's global one) so two
 * apps in one process, as in tests, never mix their figures.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly songsStarted = new Counter({ name: 'music_bridge_songs_started_total', help: 'Songs that started playing.', registers: [this.registry] });
  readonly songFailures = new Counter({ name: 'music_bridge_song_failures_total', help: 'Songs that could not be played (bad URL, corrupt file, stalled source).', registers: [this.registry] });
  readonly framesSent = new Counter({ name: 'music_bridge_frames_sent_total', help: 'Audio frames handed to LiveKit.', registers: [this.registry] });
  readonly outputErrors = new Counter({ name: 'music_bridge_output_errors_total', help: 'Failed frame captures (the track was rebuilt).', registers: [this.registry] });
  readonly commands = new Histogram({
    name: 'music_bridge_command_seconds',
    help: 'Time from receiving a command to sending its reply.',
    labelNames: ['command', 'ok'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly refused = new Counter({ name: 'music_bridge_commands_refused_total', help: 'Commands refused before reaching a session, by error code.', labelNames: ['error'], registers: [this.registry] });
  readonly publishesDropped = new Counter({
    name: 'music_bridge_publishes_dropped_total',
    help: 'MQTT publishes of the bridge dropped, by reason: topic_refused, too_large, not_connected, backlog, broker_refused, connection_lost, send_failed.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly mqttConnected = new Gauge({ name: 'music_bridge_mqtt_connected', help: '1 while connected to the MQTT broker.', registers: [this.registry] });
  readonly underrunSeconds = new Counter({
    name: 'music_bridge_underrun_seconds_total',
    help: 'Silence the rooms heard because the next frame came after the queue ran dry (the daemon fell behind).',
    registers: [this.registry],
  });
  readonly joinsInFlight = new Gauge({ name: 'music_bridge_joins_in_flight', help: 'Room joins in flight now (capped by livekit.maxJoinsInFlight).', registers: [this.registry] });
  readonly spawnerEnded = new Counter({ name: 'music_bridge_ffmpeg_spawner_ended_total', help: 'Times the ffmpeg spawner process ended unasked (a new one starts with the next song; 3 within a minute: ffmpeg starts from the daemon meanwhile).', registers: [this.registry] });
  readonly rejoins = new Counter({ name: 'music_bridge_room_rejoins_total', help: 'Times a session rejoined its room after losing the LiveKit connection.', registers: [this.registry] });

  constructor(statuses: () => DeviceStatus[]) {
    new Gauge({
      name: 'music_bridge_sessions',
      help: 'Sessions by state.',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const counts = new Map<string, number>(STATES.map((s) => [s, 0]));
        for (const s of statuses()) if (s.room !== null && counts.has(s.state)) counts.set(s.state, counts.get(s.state)! + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'music_bridge_' });
  }
}
