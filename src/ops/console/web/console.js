// music-bridge web console: sessions pushed by server-sent events, commands through the daemon's
// MQTT command path, catalog search, and "listen" (livekit-client + a WebAudio level meter).
// Plain DOM, no framework; every value from the server is set as text, never as HTML.

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
};

let csrf = null;
const sessions = new Map(); // device -> { status, row }

async function api(path, body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf ?? '' }, body: JSON.stringify(body) };
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  const data = await res.json().catch(() => ({ ok: false, error: 'bad_response', message: `HTTP ${res.status}` }));
  if (res.status === 401) location.reload();
  return data;
}

function logReply(reply) {
  const text = reply.ok ? `${reply.command}: ${reply.message}` : `${reply.command ?? 'request'} refused (${reply.error}): ${reply.message}`;
  const item = el('li', { dataset: { ok: String(!!reply.ok) }, textContent: `${new Date().toLocaleTimeString()} ${reply.device ?? ''} ${text}` });
  $('#replies').prepend(item);
  while ($('#replies').children.length > 50) $('#replies').lastElementChild.remove();
}

/** Sends one command for a device, exactly as an app would publish it over MQTT. */
async function command(device, cmd) {
  const reply = await api(`/console/api/devices/${encodeURIComponent(device)}/command`, cmd);
  logReply(reply);
  // The table follows the event stream only: a reply's state has no progress and may be older.
  return reply;
}

// ---- sessions table -------------------------------------------------------------------------

const NEXT_REPEAT = { off: 'one', one: 'all', all: 'off' };

function controls(device) {
  const btn = (action, label, cmd) => el('button', { type: 'button', dataset: { action }, textContent: label, onclick: () => command(device, cmd()) });
  const volume = el('input', { type: 'range', min: 0, max: 100, step: 1, dataset: { action: 'volume' }, title: 'volume' });
  volume.addEventListener('change', () => command(device, { type: 'set_volume', volume: Number(volume.value) }));
  const pause = el('button', { type: 'button', dataset: { action: 'pause' }, textContent: 'Pause' });
  pause.onclick = () => command(device, { type: sessions.get(device)?.status.state === 'paused' ? 'resume_music' : 'pause_music' });
  return [
    btn('previous', 'Previous', () => ({ type: 'previous_music' })),
    pause,
    btn('skip', 'Skip', () => ({ type: 'skip_music' })),
    btn('stop', 'Stop', () => ({ type: 'stop_continuous_music' })),
    btn('repeat', 'Repeat: off', () => ({ type: 'set_repeat', mode: NEXT_REPEAT[sessions.get(device)?.status.repeat ?? 'off'] ?? 'off' })),
    volume,
    el('button', { type: 'button', dataset: { action: 'listen' }, textContent: 'Listen', onclick: () => listen(device) }),
  ];
}

function render(status) {
  let entry = sessions.get(status.device);
  if (!entry) {
    const cells = ['device', 'room', 'state', 'song', 'progress', 'volume', 'queue', 'failure'].map((c) => el('td', { className: c }));
    cells[4].append(el('div', { className: 'bar' }, el('div')), el('small'));
    const row = el('tr', { dataset: { device: status.device } }, ...cells, el('td', { className: 'controls' }, ...controls(status.device)));
    $('#sessions tbody').append(row);
    entry = { row };
    sessions.set(status.device, entry);
  }
  entry.status = status;
  entry.receivedAt = performance.now();
  const { row } = entry;
  row.dataset.state = status.state;
  $('.device', row).textContent = status.device;
  $('.room', row).textContent = status.room ?? '—';
  $('.state', row).textContent = status.state === 'idle' && status.reason ? `ended: ${status.reason}` : status.state + (status.error ? ` (${status.error})` : '');
  $('.state', row).dataset.state = status.state;
  $('.song', row).textContent = status.song ? `${status.song.title} · ${status.song.language}${status.song.genre ? ` · ${status.song.genre}` : ''}` : '—';
  $('.song', row).dataset.songId = status.song?.id ?? '';
  $('.volume', row).textContent = String(status.volume);
  const slider = $('input[data-action=volume]', row);
  if (document.activeElement !== slider) slider.value = String(status.volume);
  $('.queue', row).textContent = String(status.queue_length);
  $('.queue', row).title = `${status.queued ?? 0} queued by users`;
  $('button[data-action=repeat]', row).textContent = `Repeat: ${status.repeat ?? 'off'}`;
  $('.failure', row).textContent = status.last_failure ? `${status.last_failure.title}: ${status.last_failure.error}` : '—';
  $('button[data-action=pause]', row).textContent = status.state === 'paused' ? 'Resume' : 'Pause';
  for (const b of row.querySelectorAll('td.controls button, td.controls input')) b.disabled = status.state === 'idle';
  $('#no-sessions').hidden = [...sessions.values()].some((s) => s.status.state !== 'idle');
  $('#session-count').textContent = `(${[...sessions.values()].filter((s) => s.status.state !== 'idle').length} playing)`;
  updateProgress(entry);
}

function fmt(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** From the song's elapsed time at the server's `at`, advanced locally while it plays. */
function updateProgress(entry) {
  const { status, row } = entry;
  const bar = $('.bar > div', row);
  const label = $('td.progress small', row);
  const p = status.progress;
  if (!p || !status.song) {
    bar.style.width = '0';
    label.textContent = '';
    return;
  }
  const elapsed = p.elapsed_ms + (p.running ? performance.now() - entry.receivedAt : 0);
  const duration = status.song.duration_ms;
  if (duration) {
    const shown = Math.min(elapsed, duration);
    bar.style.width = `${(100 * shown) / duration}%`;
    label.textContent = ` ${fmt(shown)} / ${fmt(duration)}`;
  } else {
    bar.style.width = '0';
    label.textContent = ` ${fmt(elapsed)}`;
  }
}
setInterval(() => sessions.forEach(updateProgress), 250);

function setBadge(node, ok, text) {
  node.dataset.ok = String(ok);
  node.textContent = text;
}

function connectFeed() {
  const source = new EventSource('/console/api/events');
  source.addEventListener('open', () => setBadge($('#feed'), true, 'live updates: on'));
  source.addEventListener('error', () => setBadge($('#feed'), false, 'live updates: reconnecting…'));
  source.addEventListener('snapshot', (e) => {
    const live = new Set();
    for (const s of JSON.parse(e.data).sessions) {
      live.add(s.device);
      render(s);
    }
    // Rooms that ended while the stream was down.
    for (const [device, entry] of sessions) if (!live.has(device) && entry.status.state !== 'idle') render({ ...entry.status, state: 'idle', progress: null });
  });
  source.addEventListener('session', (e) => render(JSON.parse(e.data)));
  source.addEventListener('health', (e) => {
    const h = JSON.parse(e.data);
    const checks = Object.entries(h.checks ?? {}).map(([k, v]) => `${k} ${v === true ? 'ok' : v}`).join(', ');
    const fleet = h.instance ? ` · instance ${h.instance}${Array.isArray(h.live) && h.live.length > 1 ? ` (${h.live.length} live: ${h.live.join(', ')})` : ''}` : '';
    setBadge($('#health'), h.ok === true, `bridge ${h.ok ? 'ready' : 'not ready'}${h.version ? ` · v${h.version}` : ''}${fleet}${checks ? ` · ${checks}` : ''}`);
  });
}

// ---- start and catalog ---------------------------------------------------------------------

$('#start-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const cmd = { type: 'start_continuous_music' };
  for (const k of ['language', 'genre', 'session_id']) if (f.get(k)) cmd[k] = f.get(k);
  command(String(f.get('device')), cmd);
});

$('#search-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const params = new URLSearchParams({ q: String(f.get('q')) });
  if (f.get('language')) params.set('language', String(f.get('language')));
  const { songs = [], message } = await api(`/console/api/catalog?${params}`);
  const list = $('#results');
  list.replaceChildren(...songs.map((s) => {
    const play = el('button', { type: 'button', dataset: { action: 'play' }, textContent: 'Play' });
    play.onclick = () => {
      const device = String(new FormData($('#search-form')).get('device') || [...sessions.values()].find((x) => x.status.state !== 'idle')?.status.device || '');
      if (!device) return logReply({ ok: false, error: 'no_device', message: 'name a playing device first' });
      command(device, { type: 'play_song', query: s.title, language: s.language });
    };
    const enqueue = el('button', { type: 'button', dataset: { action: 'enqueue' }, textContent: 'Enqueue', title: 'play after the songs already queued' });
    enqueue.onclick = () => {
      const device = String(new FormData($('#search-form')).get('device') || [...sessions.values()].find((x) => x.status.state !== 'idle')?.status.device || '');
      if (!device) return logReply({ ok: false, error: 'no_device', message: 'name a playing device first' });
      command(device, { type: 'enqueue_music', song_id: s.id, position: 'end' });
    };
    return el('li', {}, `${s.title} · ${s.language}${s.genre ? ` · ${s.genre}` : ''}`, play, enqueue);
  }));
  if (!songs.length) list.append(el('li', { textContent: message ?? 'nothing found' }));
});

// ---- listen ---------------------------------------------------------------------------------

let listening = null; // { room, ctx, timer }

async function stopListening() {
  const l = listening;
  listening = null;
  if (!l) return;
  clearInterval(l.timer);
  await l.room.disconnect().catch(() => undefined);
  await l.ctx.close().catch(() => undefined);
  for (const a of document.querySelectorAll('audio.listen')) a.remove();
  $('#listen-level').style.width = '0';
  $('#listen-level').dataset.rms = '0';
  $('#listen-stop').disabled = true;
  $('#listen-state').textContent = 'Not listening.';
}

async function listen(device) {
  await stopListening();
  // Created in the click, so the browser lets it play.
  const ctx = new AudioContext();
  const grant = await api(`/console/api/devices/${encodeURIComponent(device)}/listen`, {});
  if (!grant.token) {
    await ctx.close();
    return logReply({ ...grant, command: 'listen', device });
  }
  const { Room, RoomEvent, Track } = await import('/console/assets/livekit-client.mjs');
  const room = new Room();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  const samples = new Float32Array(analyser.fftSize);
  const level = $('#listen-level');
  const stats = { frames: 0, maxRms: 0, audibleFrames: 0 };
  window.consoleListen = stats;
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) sum += v * v;
    const rms = Math.sqrt(sum / samples.length);
    stats.frames++;
    stats.maxRms = Math.max(stats.maxRms, rms);
    if (rms > 0.01) stats.audibleFrames++;
    level.dataset.rms = rms.toFixed(4);
    level.style.width = `${Math.min(100, rms * 300)}%`;
  }, 50);
  listening = { room, ctx, timer };
  room.on(RoomEvent.TrackSubscribed, (track) => {
    if (track.kind !== Track.Kind.Audio) return;
    // Chrome feeds a remote WebRTC track to WebAudio only while a media element plays it too.
    const audio = track.attach();
    audio.classList.add('listen');
    document.body.append(audio);
    ctx.createMediaStreamSource(new MediaStream([track.mediaStreamTrack])).connect(analyser);
    $('#listen-state').textContent = `Listening to room ${grant.room} (device ${device}).`;
  });
  room.on(RoomEvent.Disconnected, () => {
    if (listening?.room === room) stopListening();
  });
  $('#listen-state').textContent = `Joining room ${grant.room}…`;
  $('#listen-stop').disabled = false;
  try {
    await room.connect(grant.url, grant.token, { autoSubscribe: true });
    await ctx.resume();
  } catch (err) {
    $('#listen-state').textContent = `Could not join: ${err?.message ?? err}`;
  }
}
$('#listen-stop').addEventListener('click', () => stopListening());

// ---- start-up -------------------------------------------------------------------------------

const me = await api('/console/api/me');
csrf = me.csrf;
for (const select of document.querySelectorAll('select[name=language]')) {
  for (const l of me.languages ?? []) select.append(el('option', { value: l, textContent: l }));
}
if (me.open) $('#logout-form').hidden = true;
$('#logout-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  await api('/console/logout', {});
  location.reload();
});
connectFeed();
