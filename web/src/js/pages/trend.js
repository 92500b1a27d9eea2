// #/trend/{c}/{b}/{point_id}: one point's history with uPlot. Day / week / month
// ranges end at the point's newest sample (or now); drag on the chart to zoom,
// "Reset zoom" (or a double click) to go back.
import uPlot from '../../vendor/uPlot.esm.js';
import { get, buildingPath, seg, query } from '../api.js';
import { t } from '../i18n.js';
import { h, message } from '../dom.js';
import { parseStamp, formatStamp, nowNaive, showStamp } from '../time.js';
import { isBinary, isMultiState, formatValue } from '../format.js';
import { errorText } from '../main.js';

const DAY = 86400000;
const RANGES = { day: DAY, week: 7 * DAY, month: 31 * DAY };

const p2 = (n) => String(n).padStart(2, '0');
/** x-axis labels in 24-hour wall-clock time; dates at midnight or for day steps. */
function timeTicks(u, splits, axisIdx, space, incr) {
  return splits.map((v) => {
    const d = new Date(v * 1000);
    const date = `${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`;
    const time = `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}`;
    if (incr >= 86400) return date;
    return d.getUTCHours() === 0 && d.getUTCMinutes() === 0 ? `${date}\n${time}` : time;
  });
}

export async function trendPage(app, { customer, building, point }) {
  app.dataset.page = 'trend';
  const base = buildingPath(customer, building);
  const [pointList, latest] = await Promise.all([get(base + '/points'), get(base + '/latest')]);
  const meta = pointList.points.find((p) => p.point_id === point) || { point_id: point, name: point, unit: '', object_type: '' };
  const newest = latest.points.find((p) => p.point_id === point);
  const end = newest ? parseStamp(newest.time) : nowNaive();

  let range = sessionStorage.getItem('nbms.range') || 'day';
  if (!RANGES[range]) range = 'day';
  let chart = null;
  let loadSeq = 0;

  const buttons = Object.keys(RANGES).map((r) => h('button', { type: 'button', class: 'small', 'data-testid': 'range-' + r, 'data-range': r, text: t('trend.' + r),
    onclick: () => { range = r; sessionStorage.setItem('nbms.range', r); load(); } }));
  const reset = h('button', { type: 'button', class: 'small', text: t('trend.resetZoom'), 'data-testid': 'zoom-reset', onclick: () => resetZoom() });
  const info = h('div', { class: 'muted small', 'data-testid': 'trend-info', 'aria-live': 'polite' });
  const chartBox = h('div', { class: 'chart', 'data-testid': 'trend-chart', 'data-state': 'loading', 'data-points': '0' });
  const status = h('div', {});

  app.append(h('section', { class: 'trend' },
    h('div', { class: 'page-head' },
      h('div', {},
        h('a', { href: `#/b/${seg(customer)}/${seg(building)}`, class: 'back small', text: '← ' + t('trend.back') }),
        h('h1', { 'data-testid': 'trend-title', text: meta.name || point }),
        h('div', { class: 'muted small' }, h('code', { text: point }), ` · ${meta.object_type || ''} ${meta.unit ? '· ' + meta.unit : ''}`, meta.equipment ? ` · ${meta.equipment}` : '')),
      h('div', { class: 'toolbar', role: 'group', 'aria-label': t('trend.range') }, buttons, reset)),
    info, status, chartBox,
    h('p', { class: 'muted small', text: t('trend.zoomHint') })));

  const resizeObserver = new ResizeObserver(() => { if (chart) chart.setSize(size()); });
  resizeObserver.observe(chartBox);

  function size() {
    const width = Math.max(280, chartBox.clientWidth);
    return { width, height: Math.max(220, Math.min(420, Math.round(width * 0.5))) };
  }

  function resetZoom() {
    if (!chart) return;
    const xs = chart.data[0];
    if (xs.length) chart.setScale('x', { min: xs[0], max: xs[xs.length - 1] });
  }

  let fromMs = 0;
  let toMs = 0;
  async function load() {
    const seq = ++loadSeq;
    for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.range === range));
    toMs = end;
    fromMs = end - RANGES[range];
    chartBox.dataset.state = 'loading';
    info.textContent = `${showStamp(formatStamp(fromMs))} – ${showStamp(formatStamp(toMs))} · ${t('trend.loading')}`;
    status.replaceChildren();
    let data;
    try {
      data = await get(`${base}/points/${seg(point)}/history${query({ from: formatStamp(fromMs), to: formatStamp(toMs) })}`);
    } catch (e) {
      if (seq !== loadSeq) return;
      chartBox.dataset.state = 'error';
      status.replaceChildren(message('error', errorText(e), 'trend-error'));
      return;
    }
    if (seq !== loadSeq) return;
    const t0 = performance.now();
    const n = data.samples.length;
    const times = data.samples.map((x) => parseStamp(x.time) / 1000);
    // A break in the line where samples are missing (more than 3 usual steps apart).
    const steps = [];
    for (let i = 1; i < n; i += Math.max(1, Math.floor(n / 200))) steps.push(times[i] - times[i - 1]);
    steps.sort((a, b) => a - b);
    const gap = (steps[steps.length >> 1] || 900) * 3;
    const xs = [];
    const ys = [];
    for (let i = 0; i < n; i++) {
      if (i > 0 && times[i] - times[i - 1] > gap) { xs.push(times[i - 1] + 1); ys.push(null); }
      xs.push(times[i]);
      ys.push(data.samples[i].value);
    }
    draw([xs, ys]);
    chartBox.dataset.drawMs = String(Math.round(performance.now() - t0));   // parse + draw, for tests
    info.textContent = `${showStamp(formatStamp(fromMs))} – ${showStamp(formatStamp(toMs))} · ${t('trend.samples', { n })}`;
  }

  function draw(data) {
    const type = meta.object_type;
    const stepped = isBinary(type) || isMultiState(type);
    const drawn = () => {
      const ys = chart ? chart.data[1] : data[1];
      chartBox.dataset.state = 'ready';
      chartBox.dataset.points = String(ys.reduce((k, v) => (v === null ? k : k + 1), 0));
    };
    if (chart) {
      chart.setData(data, false);
      resetZoom();
      drawn();
      return;
    }
    const opts = {
      ...size(),
      // times are the building's wall clock stored as UTC; print them as such
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: { x: { time: true } },
      cursor: { drag: { x: true, y: false, setScale: true } },
      legend: { live: true },
      series: [
        { label: t('trend.time'), value: (u, v) => (v == null ? '—' : showStamp(formatStamp(v * 1000))) },
        {
          label: `${meta.name || point}${meta.unit ? ' (' + meta.unit + ')' : ''}`,
          stroke: '#1f5fa8',
          width: 1.5,
          fill: 'rgba(31, 95, 168, 0.08)',
          spanGaps: false,
          points: { show: false },
          paths: stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
          value: (u, v) => (v == null ? '—' : formatValue(v, type)),
        },
      ],
      axes: [{ values: timeTicks, space: 60 }, { size: 60 }],
      hooks: { draw: [() => drawn()] },
    };
    chart = new uPlot(opts, data, chartBox);
    chartBox.uplot = chart;   // for tests and debugging
    drawn();
  }

  await load();
  return {
    destroy() {
      loadSeq++;
      resizeObserver.disconnect();
      chart?.destroy();
      chart = null;
    },
  };
}
