// What bench listeners need of a 10 ms frame beyond level and zero-crossing pitch: which of the
// known song pitches dominates (robust to chords and noise, for `music` content) and how much
// energy lies outside two known tones (a click at a skip, for `tones` content).

/** Per-frequency cos/sin tables for frames of `n` samples at `rate`, optionally Hann-windowed. */
function tables(freqs, n, rate, hann) {
  return freqs.map((hz) => {
    const c = new Float64Array(n);
    const s = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const w = hann ? 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)) : 1;
      c[i] = w * Math.cos((2 * Math.PI * hz * i) / rate);
      s[i] = w * Math.sin((2 * Math.PI * hz * i) / rate);
    }
    return { hz, c, s };
  });
}

/** The song pitch (of `freqs`) with the most energy in a frame: 2 multiply-adds per sample and pitch. */
export function dominantPitch(freqs, n, rate) {
  const t = tables(freqs, n, rate, true);
  return (x) => {
    let best = 0;
    let bestLevel = -1;
    for (const { hz, c, s } of t) {
      let re = 0;
      let im = 0;
      for (let i = 0; i < n; i++) {
        re += x[i] * c[i];
        im += x[i] * s[i];
      }
      const level = re * re + im * im;
      if (level > bestLevel) {
        bestLevel = level;
        best = hz;
      }
    }
    return best;
  };
}

/**
 * RMS (0..1 of full scale) of what is left of a frame after a least-squares fit of sines at `a`
 * and `b` Hz (any amplitude and phase): the energy outside the two songs' tones. Exact for steady
 * tones even 80 Hz apart, where a 10 ms DFT bin would mix them.
 */
export function residueOutside(freqs, n, rate) {
  const t = new Map(tables(freqs, n, rate, false).map((x) => [x.hz, x]));
  return (x, a, b) => {
    const basis = [];
    for (const hz of a === b ? [a] : [a, b]) {
      const k = t.get(hz);
      if (k) basis.push(k.c, k.s);
    }
    const m = basis.length;
    const g = basis.map((u) => basis.map((v) => dot(u, v, n)));
    const r = basis.map((u) => dot(u, x, n));
    const coef = solve(g, r, m);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      let fit = 0;
      for (let j = 0; j < m; j++) fit += coef[j] * basis[j][i];
      const e = x[i] / 32768 - fit / 32768;
      sum += e * e;
    }
    return Math.sqrt(sum / n);
  };
}

function dot(u, v, n) {
  let s = 0;
  for (let i = 0; i < n; i++) s += u[i] * v[i];
  return s;
}

/** Gaussian elimination with partial pivoting (m ≤ 4). */
function solve(g, r, m) {
  const a = g.map((row, i) => [...row, r[i]]);
  for (let col = 0; col < m; col++) {
    let p = col;
    for (let i = col + 1; i < m; i++) if (Math.abs(a[i][col]) > Math.abs(a[p][col])) p = i;
    [a[col], a[p]] = [a[p], a[col]];
    if (Math.abs(a[col][col]) < 1e-9) continue;
    for (let i = col + 1; i < m; i++) {
      const f = a[i][col] / a[col][col];
      for (let j = col; j <= m; j++) a[i][j] -= f * a[col][j];
    }
  }
  const x = new Array(m).fill(0);
  for (let i = m - 1; i >= 0; i--) {
    if (Math.abs(a[i][i]) < 1e-9) continue;
    let s = a[i][m];
    for (let j = i + 1; j < m; j++) s -= a[i][j] * x[j];
    x[i] = s / a[i][i];
  }
  return x;
}
