'use strict';
// The console's page: polls the API every 2 s and redraws; acts through typed-confirmation dialogs.
const state = { session: null, histories: {}, historyAt: {}, dialog: null, plans: {} };

function h(tag, attrs, ...children) {
  const svg = ['svg', 'polyline', 'line', 'rect', 'text', 'g', 'title', 'circle'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c.nodeType ? c : document.createTextNode(String(c)));
  return el;
}
const fmtTime = (t) => t ? new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '—';
const fmtDate = (t) => t ? new Date(t).toLocaleString() : '—';
const slug = (s) => String(s).replace(/[^A-Za-z0-9_-]/g, '_');
const canOperate = () => state.session && (state.session.role === 'operator' || state.session.role === 'admin');

async function api(path, options = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (options.method && options.method !== 'GET') headers['X-CSRF-TOKEN'] = state.session.csrfToken;
  const r = await fetch('/api' + path, { credentials: 'same-origin', ...options, headers });
  if (r.status === 401) { location.replace('/login.html'); throw new Error('logged out'); }
  return r;
}

function toast(message, bad) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.className = bad ? 'show bad' : 'show';
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = ''; }, 6000);
}

// ---- zones ----
function trendArrow(trend) {
  if (trend === null || trend === undefined) return '·';
  if (trend > 0.2) return '↑ ' + trend.toFixed(1);
  if (trend < -0.2) return '↓ ' + trend.toFixed(1);
  return '→ ' + trend.toFixed(1);
}

function zoneCard(zone) {
  const alarm = zone.alarm && zone.alarm.active;
  const badge = alarm
    ? h('span', { class: 'badge hot', 'data-testid': 'alarm-badge' }, 'ALARM since ' + fmtTime(zone.alarm.since))
    : h('span', { class: 'badge ok', 'data-testid': 'alarm-badge' }, 'normal');
  return h('article', { class: 'card' + (alarm ? ' hot' : ''), 'data-testid': 'zone-' + slug(zone.name) },
    h('h3', {}, zone.name, ' ', badge, zone.stale ? h('span', { class: 'badge warn' }, 'stale: ' + zone.stale) : null),
    h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Sensor'), h('th', {}, '°C'), h('th', {}, 'Trend /10 min'), h('th', {}, 'Age'))),
      h('tbody', {}, zone.sensors.map((s) => h('tr', { class: s.stale ? 'stale' : '', 'data-testid': 'sensor-' + slug(s.id) },
        h('td', {}, s.id), h('td', { class: 'num', 'data-testid': 'sensor-temp' }, s.celsius === null ? '—' : s.celsius.toFixed(1)),
        h('td', { class: 'num' }, trendArrow(s.trendPer10Min)), h('td', { class: 'num' }, s.stale ? 'stale ' + Math.round(s.ageSeconds) + ' s' : Math.round(s.ageSeconds) + ' s'))))),
    chart(zone));
}

function chart(zone) {
  const hist = state.histories[zone.name];
  const W = 600, H = 170, L = 34, B = 18;
  const svg = h('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': '24 h temperatures of ' + zone.name, 'data-testid': 'chart-' + slug(zone.name) });
  if (!hist) return svg;
  const now = Date.now(), from = now - 24 * 3600 * 1000;
  const temps = hist.sensors.flatMap((s) => s.points.map((p) => p.celsius));
  const high = zone.highCelsius ?? hist.highCelsius, low = zone.lowCelsius ?? hist.lowCelsius;
  const all = temps.concat([high, low].filter((v) => v !== null && v !== undefined));
  if (all.length === 0) return svg;
  const min = Math.floor(Math.min(...all) - 1), max = Math.ceil(Math.max(...all) + 1);
  const x = (t) => L + (W - L - 4) * (t - from) / (now - from);
  const y = (c) => 4 + (H - B - 8) * (max - c) / (max - min || 1);
  for (const v of [min, (min + max) / 2, max]) {
    svg.append(h('line', { x1: L, x2: W - 4, y1: y(v), y2: y(v), class: 'gridline' }), h('text', { x: 2, y: y(v) + 4, class: 'axis' }, v.toFixed(0)));
  }
  for (let i = 0; i <= 4; i++) {
    const t = from + i * 6 * 3600 * 1000;
    svg.append(h('text', { x: x(t) - 14, y: H - 3, class: 'axis' }, new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
  }
  if (high !== null && high !== undefined) svg.append(h('line', { x1: L, x2: W - 4, y1: y(high), y2: y(high), class: 'threshold high', 'data-testid': 'threshold-high' }, h('title', {}, 'high ' + high + ' °C')));
  if (low !== null && low !== undefined) svg.append(h('line', { x1: L, x2: W - 4, y1: y(low), y2: y(low), class: 'threshold low' }, h('title', {}, 'low ' + low + ' °C')));
  hist.sensors.forEach((s, i) => {
    const pts = s.points.filter((p) => Date.parse(p.at) >= from).map((p) => `${x(Date.parse(p.at)).toFixed(1)},${y(p.celsius).toFixed(1)}`);
    if (pts.length === 1) pts.push(pts[0].replace(/^[\d.]+/, (v) => String(Number(v) + 2)));
    svg.append(h('polyline', { points: pts.join(' '), class: 'series s' + (i % 4) }, h('title', {}, s.sensorId)));
  });
  return svg;
}

async function refreshHistories(zones) {
  const now = Date.now();
  await Promise.all(zones.map(async (z) => {
    if (state.historyAt[z.name] && now - state.historyAt[z.name] < 10000) return;
    state.historyAt[z.name] = now;
    const r = await api('/zones/' + encodeURIComponent(z.name) + '/history');
    if (r.ok) state.histories[z.name] = await r.json();
  }));
}

// ---- clusters ----
const actions = [
  { id: 'drill', label: 'Drill', text: 'Walk the shutdown plan without touching anything.' },
  { id: 'shutdown-now', label: 'Shut down now', text: 'Shut every VM and host of the cluster down now, in the safe order.', danger: true },
  { id: 'power-on-now', label: 'Power on now', text: 'Power the hosts on through their BMCs and restore the VMs that ran before.', override: true },
  { id: 'cancel-power-on', label: 'Cancel pending power-on', text: 'Keep the cluster off when its alarm clears, until someone powers it on.' },
];

function statusClass(actual) {
  if (actual === 'ON' || actual === 'ManuallyON') return 'ok';
  if (actual === 'OFF') return 'off';
  if (actual === 'Crashed' || actual === 'Unknown') return 'hot';
  return 'warn';
}

function clusterBlock(c, windows) {
  const hosts = h('table', { class: 'grid' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Host'), h('th', {}, 'Desired'), h('th', {}, 'Actual'), h('th', {}, 'Heartbeat'), h('th', {}, 'Note'))),
    h('tbody', {}, c.hosts.map((x) => h('tr', { 'data-testid': 'host-' + slug(x.name) },
      h('td', {}, x.name), h('td', { 'data-testid': 'host-desired' }, x.desired),
      h('td', {}, h('span', { class: 'badge ' + statusClass(x.actual), 'data-testid': 'host-status' }, x.actual === 'ManuallyON' ? 'ON (manually)' : x.actual)),
      h('td', {}, x.previousHeartbeat + ' → ' + x.currentHeartbeat, h('br'), h('small', {}, fmtTime(x.heartbeatAt))),
      h('td', {}, x.note || '')))));
  const on = c.vms.filter((v) => v.powerState === 'poweredOn').length;
  const block = h('article', { class: 'cluster', 'data-testid': 'cluster-' + slug(c.name) },
    h('h3', {}, c.name, c.zones.length ? h('small', {}, ' protected by ' + c.zones.join(', ')) : null,
      c.offSince ? h('span', { class: 'badge off' }, 'off since ' + fmtTime(c.offSince)) : null),
    hosts,
    h('p', {}, `VMs: ${on} on of ${c.vms.length}`, c.vms.some((v) => v.isVCenter) ? ' (vCenter runs here)' : ''),
    c.scheduleNote ? h('p', { class: 'warn' }, c.scheduleNote) : null);
  if (canOperate()) {
    block.append(h('div', { class: 'actions' }, actions.map((a) =>
      h('button', { type: 'button', class: a.danger ? 'danger' : '', 'data-testid': `action-${slug(c.name)}-${a.id}`, onclick: () => openDialog(c.name, a) }, a.label))));
  }
  block.append(readinessBlock(state.readiness && state.readiness[c.name]));
  block.append(planBlock(c.name));
  if (c.refusals && c.refusals.length) {
    block.append(h('div', { class: 'refusals', 'data-testid': 'cluster-refusals' }, h('b', {}, 'Refused by the saga:'),
      h('ul', { class: 'plain' }, c.refusals.slice(0, 5).map((r) => h('li', { class: 'bad' }, `${fmtDate(r.refusedAt)} ${r.command} from ${r.requestedBy}: ${r.reason}`)))));
  }
  block.append(windowsBlock(c.name, windows || []));
  const recent = (state.audit || []).filter((e) => e.cluster === c.name).slice(0, 5);
  if (recent.length) {
    block.append(h('details', { class: 'windows' }, h('summary', {}, `Recent actions (${recent.length})`),
      h('ul', { class: 'plain', 'data-testid': 'cluster-audit' }, recent.map((e) => h('li', {}, `${fmtDate(e.at)} ${e.user}: ${e.action} — ${e.reason} → ${e.outcome}`)))));
  }
  return block;
}

const gradeClass = { ready: 'ok', degraded: 'warn', 'not-ready': 'hot' };
const fmtDuration = (seconds) => seconds >= 3600 ? `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`
  : seconds >= 60 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds)} s`;

// The grade, its reasons (worst first, each with what to do) and the estimate with its basis.
function readinessBlock(r) {
  if (!r) return h('p', { class: 'readiness' }, 'Readiness: not assessed yet');
  const problems = r.findings.filter((f) => f.level !== 'info');
  const infos = r.findings.filter((f) => f.level === 'info');
  return h('div', { class: 'readiness', 'data-testid': 'readiness' },
    h('h4', {}, 'Readiness ', h('span', { class: 'badge ' + (gradeClass[r.grade] || 'off'), 'data-testid': 'readiness-grade' }, r.grade)),
    problems.length ? h('ul', { class: 'findings', 'data-testid': 'readiness-findings' }, problems.map((f) => h('li', { class: f.level === 'not-ready' ? 'bad' : 'warn' },
      h('b', {}, `${f.subject}: `), f.finding, f.action ? h('div', { class: 'action' }, '→ ' + f.action) : null))) : null,
    h('p', { 'data-testid': 'readiness-estimate' }, `Estimated shutdown ${fmtDuration(r.estimatedShutdownSeconds)}, power-on ${fmtDuration(r.estimatedPowerOnSeconds)}`,
      h('br'), h('small', {}, r.estimateBasis)),
    h('details', {}, h('summary', {}, 'What a run will do, and each step kind\'s duration'),
      h('ul', { class: 'plain' }, infos.map((f) => h('li', {}, f.finding))),
      h('table', { class: 'grid' }, h('tbody', {}, r.durations.map((d) => h('tr', {},
        h('td', {}, d.label), h('td', { class: 'num' }, fmtDuration(d.stageSeconds)),
        h('td', {}, d.perItemSeconds !== null && d.perItemSeconds !== undefined ? `${fmtDuration(d.perItemSeconds)} per host` : ''),
        h('td', {}, d.basis === 'history' ? `measured, ${d.samples} run(s)` : 'default model')))))));
}

// The saga's plan (asked on demand: it reads a fresh inventory from vCenter), with the console's estimate per stage.
async function loadPlan(cluster) {
  state.plans[cluster] = { loading: true };
  redraw();
  const r = await api('/clusters/' + encodeURIComponent(cluster) + '/plan');
  const body = await r.json().catch(() => ({}));
  state.plans[cluster] = r.ok ? { plan: body } : { error: body.reason || ('no plan (' + r.status + ')') };
  redraw();
}

function planBlock(cluster) {
  const entry = state.plans[cluster];
  const load = h('button', { type: 'button', class: 'small', 'data-testid': 'plan-load-' + slug(cluster), onclick: () => loadPlan(cluster) },
    entry && entry.plan ? 'Read again' : 'Show the plan');
  const box = h('div', { class: 'plan', 'data-testid': 'plan-' + slug(cluster) }, h('h4', {}, 'Plan preview ', load,
    entry ? h('button', { type: 'button', class: 'small', onclick: () => { delete state.plans[cluster]; redraw(); } }, 'Hide') : null));
  if (!entry) return box;
  if (entry.loading) { box.append(h('p', {}, 'Reading the inventory…')); return box; }
  if (entry.error) { box.append(h('p', { class: 'bad', 'data-testid': 'plan-error' }, entry.error)); return box; }
  const p = entry.plan;
  box.append(h('p', { 'data-testid': 'plan-estimate' },
    `Estimated shutdown ${fmtDuration(p.estimatedShutdownSeconds)}, power-on ${fmtDuration(p.estimatedPowerOnSeconds)}`,
    ` (worst case for the shutdown: ${fmtDuration(p.worstCaseShutdownSeconds)})`, h('br'),
    h('small', {}, `${p.estimateBasis}. Inventory read ${fmtDate(p.inventoryCapturedAt)}${p.dryRun ? '; the saga is configured to drill only' : ''}.`)));
  if (p.problems.length) box.append(h('ul', { class: 'findings', 'data-testid': 'plan-problems' }, p.problems.map((x) => h('li', { class: 'bad' }, x))));
  if (p.vCenter) {
    box.append(h('div', { 'data-testid': 'plan-vcenter' }, h('b', {}, `vCenter's VM ${p.vCenter.vm} runs on ${p.vCenter.host}`),
      p.vCenter.esxiLogin ? ` (ESXi login: ${p.vCenter.esxiLogin}${p.vCenter.lockdownMode ? ', lockdown ' + p.vCenter.lockdownMode : ''})` : '',
      h('ul', { class: 'plain' }, h('li', {}, 'Shutdown: ' + p.vCenter.shutdown), h('li', {}, 'Power-on: ' + p.vCenter.powerOn))));
  }
  for (const [direction, title] of [['shutdown', 'Shutdown'], ['power-on', 'Power-on']]) {
    const stages = p.stages.filter((s) => s.direction === direction);
    box.append(h('table', { class: 'grid stages', 'data-testid': 'plan-stages-' + direction },
      h('caption', {}, title),
      h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'Stage'), h('th', {}, 'Steps'), h('th', {}, 'Estimate'), h('th', {}, 'Deadline'))),
      h('tbody', {}, stages.map((s) => h('tr', { 'data-testid': `plan-stage-${direction}-${s.order}` },
        h('td', { class: 'num' }, s.order),
        h('td', {}, h('b', {}, s.name), h('br'), h('small', {}, s.does)),
        h('td', { class: 'num', title: s.targets.join(', ') }, s.steps),
        h('td', { 'data-testid': 'plan-stage-estimate' }, s.estimateSeconds === null ? '—' : fmtDuration(s.estimateSeconds), h('br'), h('small', {}, s.estimateBasis)),
        h('td', { class: 'num' }, s.deadlineSeconds === null ? '—' : fmtDuration(s.deadlineSeconds)))))));
  }
  if (p.changes.length || p.restores.length) {
    box.append(h('div', { 'data-testid': 'plan-changes' },
      h('b', {}, 'Changed on the cluster'), h('ul', { class: 'plain' }, p.changes.map((x) => h('li', {}, `${x.step}: ${x.change}`))),
      h('b', {}, 'Put back'), h('ul', { class: 'plain' }, p.restores.map((x) => h('li', {}, x)))));
  }
  if (p.hostsAlreadyOff.length || p.vmsAlreadyOff) {
    box.append(h('p', {}, h('small', {}, `Already off, not touched: ${p.hostsAlreadyOff.length} host(s)${p.hostsAlreadyOff.length ? ' (' + p.hostsAlreadyOff.join(', ') + ')' : ''}, ${p.vmsAlreadyOff} VM(s)`)));
  }
  return box;
}

function preflightRows(results) {
  return results.map((p) => h('tr', { class: p.ok ? '' : 'bad', 'data-testid': `preflight-${slug(p.kind)}-${slug(p.target)}` },
    h('td', {}, `${p.kind} (${p.service})`), h('td', {}, p.target),
    h('td', {}, h('span', { class: 'badge ' + (p.ok ? 'ok' : 'hot') }, p.ok ? 'ok' : 'FAILED'), ' ', h('small', {}, p.reason)),
    h('td', {}, fmtDate(p.checkedAt))));
}

function deliveryRows(deliveries) {
  return deliveries.map((d) => h('tr', { class: d.delivered ? '' : 'bad' },
    h('td', {}, fmtDate(d.completedAt)), h('td', {}, d.destination),
    h('td', {}, `${d.severity}: ${d.title}`, h('br'), h('small', {}, d.eventType)),
    h('td', {}, d.delivered ? `delivered (${d.attempts} attempt(s))` : `FAILED after ${d.attempts} attempt(s)${d.statusCode ? ', HTTP ' + d.statusCode : ''}${d.error ? ': ' + d.error : ''}`)));
}

function windowsBlock(cluster, windows) {
  const list = h('ul', { class: 'plain' }, windows.map((w) => h('li', { 'data-id': w.id },
    `${w.days}: off ${w.offAt || '—'}, on ${w.onAt || '—'}`,
    canOperate() ? h('button', { type: 'button', class: 'small', onclick: () => deleteWindow(cluster, w.id) }, 'remove') : null)));
  const box = h('details', { class: 'windows' }, h('summary', {}, `Scheduled power windows (${windows.length})`), list);
  if (canOperate()) {
    const form = h('form', { class: 'window-form' },
      h('input', { name: 'days', placeholder: 'weekdays or Mon,Tue', value: 'weekdays' }),
      h('input', { name: 'offAt', placeholder: 'off HH:mm', value: '23:00' }),
      h('input', { name: 'onAt', placeholder: 'on HH:mm', value: '07:00' }),
      h('input', { name: 'confirm', placeholder: 'type ' + cluster }),
      h('input', { name: 'reason', placeholder: 'why' }),
      h('button', { type: 'submit' }, 'Add window'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = Object.fromEntries(new FormData(form).entries());
      const r = await api('/clusters/' + encodeURIComponent(cluster) + '/windows', { method: 'POST', body: JSON.stringify(body) });
      const p = await r.json().catch(() => ({}));
      toast(r.ok ? 'Window added' : (p.message || p.detail || 'refused'), !r.ok);
      windowsCache.at = 0;
    });
    box.append(form);
  }
  return box;
}

async function deleteWindow(cluster, id) {
  const r = await api(`/clusters/${encodeURIComponent(cluster)}/windows/${id}`, { method: 'DELETE' });
  toast(r.ok ? 'Window removed' : 'Not removed', !r.ok);
  windowsCache.at = 0;
}

const windowsCache = { at: 0, byCluster: {} };
async function refreshWindows(clusters) {
  if (Date.now() - windowsCache.at < 15000) return;
  windowsCache.at = Date.now();
  await Promise.all(clusters.map(async (c) => {
    const r = await api('/clusters/' + encodeURIComponent(c.name) + '/windows');
    if (r.ok) windowsCache.byCluster[c.name] = await r.json();
  }));
}

function openDialog(cluster, action) {
  const d = document.getElementById('confirm');
  state.dialog = { cluster, action };
  document.getElementById('confirm-title').textContent = `${action.label}: ${cluster}`;
  document.getElementById('confirm-text').textContent = action.text;
  document.getElementById('override-block').hidden = !action.override;
  for (const id of ['confirm-name', 'confirm-reason', 'confirm-override-reason']) document.getElementById(id).value = '';
  document.getElementById('confirm-override').checked = false;
  document.getElementById('confirm-error').textContent = '';
  d.showModal();
}

async function submitDialog(e) {
  e.preventDefault();
  const { cluster, action } = state.dialog;
  const body = {
    confirm: document.getElementById('confirm-name').value,
    reason: document.getElementById('confirm-reason').value,
    overrideMinimumOffTime: document.getElementById('confirm-override').checked,
    overrideReason: document.getElementById('confirm-override-reason').value,
  };
  const r = await api(`/clusters/${encodeURIComponent(cluster)}/${action.id}`, { method: 'POST', body: JSON.stringify(body) });
  const p = await r.json().catch(() => ({}));
  if (r.ok) {
    document.getElementById('confirm').close();
    toast(p.message || 'sent');
  } else {
    document.getElementById('confirm-error').textContent = p.message || p.detail || ('refused (' + r.status + ')');
  }
}

// ---- runs ----
function runBlock(run) {
  const done = run.restoreCompletedAt || (run.completedAt && !run.restoreStartedAt);
  const title = `${run.dryRun ? 'Drill' : 'Run'} on ${run.cluster} (zone ${run.zone || '—'}) started ${fmtDate(run.startedAt)}`;
  const status = run.restoreCompletedAt ? (run.interrupted ? 'power-on interrupted' : 'powered on again')
    : run.restoreStartedAt ? 'powering on' : run.completedAt ? 'shut down' : 'shutting down';
  const steps = h('ol', { class: 'steps', 'data-testid': 'run-steps' }, run.steps.map((s) => h('li', { class: /Failed|Late|NotRestored|Skipped/.test(s.outcome) ? 'bad' : '' },
    h('time', {}, fmtTime(s.at)), ` ${s.stage} `, h('b', {}, s.target), ` ${s.outcome}`, s.detail ? h('small', {}, ' — ' + s.detail) : null)));
  return h('details', { class: 'run', open: !done, 'data-testid': 'run-' + run.runId },
    h('summary', {}, title, ' ', h('span', { class: 'badge ' + (done ? 'off' : 'warn'), 'data-testid': 'run-status' }, status)),
    h('p', {}, run.summary),
    gantt(run), steps,
    run.failures.length || run.restoreFailures.length ? h('ul', { class: 'bad' }, run.failures.concat(run.restoreFailures).map((f) => h('li', {}, f))) : null);
}

// Stages as bars in the order they ran: each starts where the previous one ended (what waited on what) and ends at its last outcome.
function gantt(run) {
  const stages = [];
  for (const s of run.steps) {
    let st = stages.find((x) => x.name === s.stage);
    if (!st) stages.push(st = { name: s.stage, times: [], bad: 0 });
    st.times.push(Date.parse(s.at));
    if (/Failed|Late|NotRestored|Skipped/.test(s.outcome)) st.bad++;
  }
  const start = Date.parse(run.startedAt);
  const end = Math.max(start + 1000, Date.now() > start && !(run.restoreCompletedAt || run.completedAt) ? Date.now() : 0, ...stages.flatMap((s) => s.times));
  const W = 600, row = 20, L = 130, H = Math.max(1, stages.length) * row + 20;
  const x = (t) => L + (W - L - 6) * (t - start) / (end - start);
  const svg = h('svg', { viewBox: `0 0 ${W} ${H}`, class: 'gantt', 'data-testid': 'gantt' });
  let prevEnd = start;
  stages.forEach((st, i) => {
    const from = Math.min(prevEnd, Math.min(...st.times)), to = Math.max(...st.times);
    const yy = 4 + i * row;
    svg.append(h('text', { x: 2, y: yy + 13, class: 'axis' }, st.name));
    svg.append(h('rect', { x: x(from), y: yy, width: Math.max(3, x(to) - x(from)), height: row - 6, class: st.bad ? 'bar bad' : 'bar' },
      h('title', {}, `${st.name}: ${st.times.length} step(s), ${((to - from) / 1000).toFixed(0)} s${st.bad ? ', ' + st.bad + ' not as planned' : ''}`)));
    for (const t of st.times) svg.append(h('line', { x1: x(t), x2: x(t), y1: yy, y2: yy + row - 6, class: 'tick' }));
    prevEnd = to;
  });
  svg.append(h('text', { x: L, y: H - 3, class: 'axis' }, fmtTime(run.startedAt)), h('text', { x: W - 60, y: H - 3, class: 'axis' }, fmtTime(new Date(end).toISOString())));
  return svg;
}

// ---- loop ----
// A container's children are replaced only when what they show changed: an identical redraw every 1.5 s would close
// what the operator opened, clear what they typed and detach what they are looking at.
const rendered = new WeakMap();
function replaceIfChanged(el, nodes) {
  const html = nodes.map((n) => n.outerHTML).join('');
  if (rendered.get(el) === html) return false;
  rendered.set(el, html);
  el.replaceChildren(...nodes);
  return true;
}

function redraw() {
  const s = state.last;
  if (!s) return;
  replaceIfChanged(document.getElementById('cluster-list'), s.clusters.length ? s.clusters.map((c) => clusterBlock(c, windowsCache.byCluster[c.name])) : [h('p', {}, 'No cluster seen yet.')]);
}

function attention(clusters) {
  const items = clusters.flatMap((c) => c.hosts.filter((x) => x.needsAttention).map((x) => {
    const hint = x.actual === 'Crashed' ? ' — if it was switched off by hand, set it OFF (shut the cluster down) so it is not reported again'
      : x.actual === 'Unknown' ? ' — an unexpected combination of desired status and heartbeats' : '';
    return `${c.name}/${x.name}: ${x.actual}${hint}`;
  }));
  const f = document.getElementById('attention');
  f.hidden = items.length === 0;
  f.replaceChildren(...items.map((i) => h('div', {}, '⚠ ' + i)));
}

async function tick() {
  const live = document.getElementById('live');
  try {
    const [stateResponse, runsResponse, readinessResponse] = await Promise.all([api('/state'), api('/runs?limit=10'), api('/readiness')]);
    const s = await stateResponse.json();
    const runs = await runsResponse.json();
    state.readiness = Object.fromEntries((await readinessResponse.json()).map((r) => [r.cluster, r]));
    await Promise.all([refreshHistories(s.zones), refreshWindows(s.clusters)]);
    const auditDue = !tick.auditAt || Date.now() - tick.auditAt > 4000;
    if (auditDue) state.audit = await (await api('/audit?limit=30')).json();
    replaceIfChanged(document.getElementById('zone-list'), s.zones.length ? s.zones.map(zoneCard) : [h('p', {}, 'No readings yet.')]);
    replaceIfChanged(document.getElementById('source-list'), s.sources.map((x) => h('li', { class: x.healthy ? 'ok' : 'bad' },
      `${x.name}: ${x.healthy ? 'healthy' : 'failing'} since ${fmtTime(x.changedAt)}`, x.problems.length ? ' — ' + x.problems.join('; ') : '')));
    state.last = s;
    redraw();
    const openRuns = new Set([...document.querySelectorAll('details.run[open]')].map((d) => d.dataset.testid));
    if (replaceIfChanged(document.getElementById('run-list'), runs.length ? runs.map(runBlock) : [h('p', {}, 'No run yet.')]))
      for (const d of document.querySelectorAll('details.run')) if (openRuns.has(d.dataset.testid)) d.open = true;
    attention(s.clusters);
    if (auditDue) {
      const [preflight, deliveries] = await Promise.all([(await api('/preflight')).json(), (await api('/deliveries?limit=30')).json()]);
      document.querySelector('#preflight-table tbody').replaceChildren(...preflightRows(preflight));
      document.querySelector('#delivery-table tbody').replaceChildren(...deliveryRows(deliveries));
      tick.auditAt = Date.now();
      document.querySelector('#audit-table tbody').replaceChildren(...state.audit.map((a) => h('tr', {},
        h('td', {}, fmtDate(a.at)), h('td', {}, a.user), h('td', {}, a.action), h('td', {}, a.cluster || ''), h('td', {}, a.reason), h('td', {}, a.outcome))));
    }
    live.className = 'live ok';
    live.dataset.ticks = String(Number(live.dataset.ticks || 0) + 1); // lets a test wait for redraws, not for time
  } catch (err) {
    live.className = 'live bad';
  }
}

async function start() {
  const r = await fetch('/api/session', { credentials: 'same-origin' });
  state.session = await r.json();
  if (!state.session.authenticated) { location.replace('/login.html'); return; }
  document.getElementById('who').textContent = `${state.session.user} (${state.session.role})`;
  document.getElementById('logout').addEventListener('click', async () => {
    await api('/logout', { method: 'POST' });
    location.replace('/login.html');
  });
  document.getElementById('confirm-form').addEventListener('submit', submitDialog);
  document.getElementById('confirm-cancel').addEventListener('click', () => document.getElementById('confirm').close());
  await tick();
  setInterval(tick, 1500);
}
start();
