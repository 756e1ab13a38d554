// acuerdo · the learning loop's page for supervisors. Plain browser JavaScript, no build
// step. Everything from the server goes into the page with textContent, never as HTML.
// It signs in like the main panel: the ADMIN_TOKEN kept in this tab's sessionStorage,
// or the panel's user session (the cookie, with its CSRF token).

const API = '/api/v1/admin/learning';
const TOKEN_KEY = 'acuerdo.admin.token';
const SESSION_KEY = 'acuerdo.admin.session';
const INTENTS = ['saludo', 'despedida', 'identificacion', 'consulta_deuda', 'intencion_pago', 'solicitud_plan', 'confirmacion', 'rechazo', 'sin_capacidad_pago', 'disputa', 'solicitar_asesor', 'no_contactar', 'fuera_de_tema'];
const REASONS = { low_confidence: 'confianza baja', openai: 'respondió OpenAI', rules: 'respondieron las reglas', flow_fallback: '«no le entendí»', handoff: 'pasó a un asesor' };
const STATUS = { candidate: 'candidata', active: 'activa', retired: 'retirada', failed: 'falló' };

const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem(TOKEN_KEY), csrf: null, timer: null };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return node;
}
const pct = (n) => (n === null || n === undefined ? '—' : `${(n * 100).toFixed(1)} %`);
const when = (d) => (d ? new Date(d).toLocaleString('es-CO', { timeZone: 'America/Bogota' }) : '—');
function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}
function flash(text, bad = false) {
  const f = $('flash');
  f.textContent = text;
  f.className = bad ? 'error' : 'muted';
}

async function api(path, options = {}) {
  const auth = state.csrf ? (options.method && options.method !== 'GET' ? { 'x-csrf-token': state.csrf } : {}) : { authorization: `Bearer ${state.token}` };
  const res = await fetch(API + path, {
    ...options,
    credentials: 'same-origin',
    headers: { ...auth, ...(options.body ? { 'content-type': 'application/json' } : {}) },
  });
  if (res.status === 401) {
    showLogin('La sesión expiró o el token cambió. Ingrese de nuevo.');
    throw new Error('unauthorized');
  }
  const type = res.headers.get('content-type') || '';
  const body = type.includes('json') && !type.includes('jsonl') ? await res.json() : await res.text();
  if (!res.ok) throw new Error(body?.details ? (typeof body.details === 'string' ? body.details : JSON.stringify(body.details)) : `HTTP ${res.status}`);
  return body;
}
const post = (path, body = {}) => api(path, { method: 'POST', body: JSON.stringify(body) });

async function loadRatings() {
  const r = await api('/ratings');
  $('ratings-summary').textContent = r.total ? `${r.total} calificaciones, promedio ${r.average} de 5.` : 'Aún no hay calificaciones.';
  const max = Math.max(1, ...Object.values(r.distribution));
  fill(
    $('ratings-dist').tBodies[0],
    ['5', '4', '3', '2', '1'].map((k) => el('tr', {}, el('td', { text: '⭐'.repeat(Number(k)) }), el('td', { text: r.distribution[k] }), el('td', { class: 'bars' }, el('span', { style: `width:${(r.distribution[k] / max) * 120}px` })))),
  );
  fill($('ratings-portfolio').tBodies[0], r.byPortfolio.map((x) => el('tr', {}, el('td', { text: x.portfolio }), el('td', { text: x.rating }), el('td', { text: x.n }))));
  fill($('ratings-channel').tBodies[0], r.byChannel.map((x) => el('tr', {}, el('td', { text: x.channel }), el('td', { text: x.rating }), el('td', { text: x.n }))));
  fill($('ratings-week').tBodies[0], r.byWeek.map((x) => el('tr', {}, el('td', { text: x.week }), el('td', { text: x.rating }), el('td', { text: x.n }))));
  $('ratings-comments').replaceChildren(...r.comments.map((c) => el('li', {}, el('strong', { text: `${'⭐'.repeat(c.rating)} ` }), c.comment, el('span', { class: 'muted', text: ` — ${c.channel}, ${c.portfolio ?? 'sin cartera'}, ${when(c.at)}` }))));
}

async function review(id, body) {
  await post(`/inbox/${id}`, body);
  flash('Revisión guardada.');
  await loadInbox();
}

async function loadInbox() {
  const { items } = await api(`/inbox?status=${$('inbox-status').value}`);
  fill(
    $('inbox-table').tBodies[0],
    items.map((i) => {
      const select = el('select', { 'aria-label': `Intención correcta para el mensaje ${i.id}` }, ...INTENTS.map((n) => el('option', { value: n, text: n })));
      select.value = i.reviewed_intent || i.predicted_intent || 'fuera_de_tema';
      const actions =
        i.status === 'open'
          ? el(
              'td',
              {},
              el('button', { text: 'Confirmar', onclick: () => review(i.id, { action: 'confirm' }).catch((e) => flash(e.message, true)) }),
              ' ',
              select,
              el('button', { text: 'Corregir', onclick: () => review(i.id, { action: 'correct', intent: select.value }).catch((e) => flash(e.message, true)) }),
              ' ',
              el('button', { class: 'link', text: 'No útil', onclick: () => review(i.id, { action: 'not_useful' }).catch((e) => flash(e.message, true)) }),
            )
          : el('td', { text: `${i.status}${i.reviewed_intent ? ` → ${i.reviewed_intent}` : ''} · ${i.reviewed_by} · ${when(i.reviewed_at)}` });
      const around = el('ul', { class: 'around plain' }, ...i.around.map((m) => el('li', { class: m.this ? 'this' : '', text: `${m.direction === 'in' ? 'Deudor' : m.author === 'bot' ? 'Bot' : 'Asesor'}: ${m.text}` })));
      return el(
        'tr',
        { 'data-item': i.id },
        el('td', {}, el('span', { class: 'text', text: i.text_masked }), el('details', {}, el('summary', { text: `Conversación (${i.channel}, ${i.portfolio ?? 'sin cartera'}, estado ${i.state})` }), around)),
        el('td', { text: i.predicted_intent ?? '—' }),
        el('td', { text: pct(i.confidence) }),
        el('td', { text: i.source ?? '—' }),
        el('td', { text: i.reasons.map((r) => REASONS[r] || r).join(', ') }),
        actions,
      );
    }),
  );
}

async function loadModels() {
  const m = await api('/models');
  const active = m.versions.find((v) => v.status === 'active');
  $('models-active').textContent = active ? `En uso: versión ${active.version}${active.forced ? ' (forzada)' : ''}, activada por ${active.activated_by} el ${when(active.activated_at)}.` : 'En uso: el modelo incluido en la instalación.';
  $('training').textContent = m.training.running
    ? `Entrenando desde ${when(m.training.startedAt)}…`
    : m.training.error
      ? `El último entrenamiento falló: ${m.training.error}`
      : m.training.last
        ? `Última: versión ${m.training.last.version}, ${m.training.last.activated ? 'activada' : 'guardada sin activar'}.`
        : '';
  $('train').disabled = m.training.running;
  fill(
    $('models-table').tBodies[0],
    m.versions.map((v) => {
      const gate = el('td', {}, ...(v.gate?.sets ?? []).map((s) => el('div', { class: s.passed ? 'ok' : 'bad', text: `${s.name}: ${pct(s.candidate.accuracy)} vs ${pct(s.active.accuracy)} ${s.passed ? '✓' : '✗'}` })));
      const buttons = el('td');
      if (v.status !== 'active' && v.status !== 'failed') {
        if (v.gate?.passed) buttons.append(el('button', { text: 'Activar', onclick: () => activate(v.version, false) }));
        else buttons.append(el('button', { class: 'danger', text: 'Forzar activación', onclick: () => activate(v.version, true) }));
      }
      return el(
        'tr',
        { 'data-version': v.version },
        el('td', { text: v.version }),
        el('td', { text: `${STATUS[v.status] || v.status}${v.forced ? ' (forzada)' : ''}` }),
        el('td', { text: `${pct(v.metrics?.crossValidation?.accuracy)} (${v.metrics?.crossValidation?.folds ?? '?'} pliegues)` }),
        gate,
        el('td', { text: `${v.corpus_examples} + ${v.reviewed_examples} revisados` }),
        el('td', { text: `${v.trained_by} · ${when(v.created_at)}` }),
        buttons,
      );
    }),
  );
  return m;
}

async function activate(version, force) {
  if (force && !confirm(`La versión ${version} obtuvo menos que la activa en un conjunto de la compuerta. ¿Activarla de todos modos?`)) return;
  try {
    await post(`/models/${version}/activate`, { force });
    flash(`Versión ${version} activada en todas las instancias.`);
  } catch (e) {
    flash(e.message, true);
  }
  await loadModels();
}

async function loadDictionary() {
  const d = await api('/dictionary');
  $('dictionary-version').textContent = `versión ${d.state.dictionary_version}`;
  fill(
    $('dict-table').tBodies[0],
    d.entries.map((e) =>
      el(
        'tr',
        {},
        el('td', { text: e.term }),
        el('td', { text: e.canonical }),
        el('td', { text: e.category }),
        el('td', { text: e.synonyms.join(', ') }),
        el('td', { text: e.examples.join('; ') }),
        el('td', { text: e.active ? 'sí' : 'no' }),
        el('td', { text: e.version }),
        el(
          'td',
          {},
          el('button', { class: 'link', text: e.active ? 'Desactivar' : 'Activar', onclick: () => api(`/dictionary/${e.id}`, { method: 'PUT', body: JSON.stringify({ active: !e.active }) }).then(loadDictionary, (x) => flash(x.message, true)) }),
          ' ',
          el('button', { class: 'link', text: 'Borrar', onclick: () => api(`/dictionary/${e.id}`, { method: 'DELETE' }).then(loadDictionary, (x) => flash(x.message, true)) }),
        ),
      ),
    ),
  );
}

function ftFilters() {
  const f = { min_rating: $('ft-rating').value === 'none' ? null : Number($('ft-rating').value), outcome: $('ft-outcome').value };
  if ($('ft-from').value) f.from = $('ft-from').value;
  if ($('ft-to').value) f.to = $('ft-to').value;
  return f;
}

async function validateExport(e) {
  e?.preventDefault();
  const r = await post('/finetune/export', { filters: ftFilters() });
  $('ft-report').replaceChildren(
    ...[
      ['Conversaciones', r.conversations],
      ['Ejemplos', r.examples],
      ['Tokens', r.tokens.toLocaleString('es-CO')],
      ['Épocas', r.epochs],
      ['Costo estimado (USD)', r.estimatedCostUsd.toFixed(2)],
      ['Errores', r.errors.join('; ') || 'ninguno'],
      ['Avisos', r.warnings.join('; ') || 'ninguno'],
    ].flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]),
  );
  $('ft-start').disabled = r.errors.length > 0;
}

async function loadJobs() {
  const { jobs, state: s } = await api('/finetune/jobs');
  $('ft-fallback').replaceChildren(
    s.fallback_model ? `Modelo de respaldo en uso: ${s.fallback_model} ` : 'Modelo de respaldo: el configurado (OPENAI_MODEL). ',
    ...(s.fallback_model ? [el('button', { class: 'link', text: 'Volver al configurado', onclick: () => post('/finetune/fallback/reset').then(loadJobs, (x) => flash(x.message, true)) })] : []),
  );
  fill(
    $('ft-jobs').tBodies[0],
    jobs.map((j) =>
      el(
        'tr',
        {},
        el('td', { text: j.id }),
        el('td', { text: j.openai_job_id ?? '—' }),
        el('td', { text: j.status }),
        el('td', { text: `${Math.round(j.progress)} %` }),
        el('td', { text: `${j.base_model} → ${j.resulting_model ?? '…'}` }),
        el('td', { text: j.conversations_used }),
        el('td', { text: j.error ?? '' }),
        el(
          'td',
          {},
          j.status === 'succeeded' && j.resulting_model && j.resulting_model !== s.fallback_model
            ? el('button', { text: 'Usar como modelo de respaldo', onclick: () => post(`/finetune/jobs/${j.id}/use`).then(loadJobs, (x) => flash(x.message, true)) })
            : '',
        ),
      ),
    ),
  );
}

async function showDebt(e) {
  e.preventDefault();
  const d = await api(`/debts/${Number($('debt-id').value)}`);
  $('debt-view').replaceChildren(
    el('p', { text: `Deudor ${d.debtor.id} (cédula terminada en ${d.debtor.cedula_last4}), cartera ${d.debtor.portfolio}.` }),
    el('h3', { text: 'Acuerdos' }),
    el('ul', {}, ...d.agreements.map((a) => el('li', { text: `${a.reference} · ${a.kind} · $${a.total.toLocaleString('es-CO')} · ${a.status} · ${a.channel}` }))),
    el('h3', { text: 'Conversaciones' }),
    el(
      'ul',
      {},
      ...d.conversations.map((c) =>
        el('li', {
          text: `${when(c.opened_at)} · ${c.channel} · ${c.status} (${c.state}) · ${c.messages} mensajes${c.agreement_ids.length ? ` · acuerdo ${c.agreement_ids.join(', ')}` : ''}${c.rating ? ` · ${'⭐'.repeat(c.rating)}` : ''}${c.review_items.length ? ` · ${c.review_items.length} en revisión` : ''}${c.llm_calls.length ? ` · ${c.llm_calls.length} llamadas a OpenAI` : ''}`,
        }),
      ),
    ),
  );
}

async function refresh() {
  await Promise.all([loadRatings(), loadInbox(), loadModels(), loadDictionary(), loadJobs()]);
}

function showLogin(message = '') {
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  clearInterval(state.timer);
}

async function start() {
  $('login').hidden = true;
  $('app').hidden = false;
  await refresh();
  // The training runs off the request path: the page asks how it goes.
  state.timer = setInterval(() => loadModels().catch(() => undefined), 2000);
}

function wire() {
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    state.token = $('login-token').value.trim();
    sessionStorage.setItem(TOKEN_KEY, state.token);
    start().catch((err) => showLogin(String(err.message || err)));
  });
  $('inbox-status').addEventListener('change', () => loadInbox().catch((e) => flash(e.message, true)));
  $('train').addEventListener('click', () =>
    post('/models/train')
      .then(() => {
        flash('Entrenamiento iniciado; puede seguir trabajando.');
        return loadModels();
      })
      .catch((e) => flash(e.message, true)),
  );
  $('rollback').addEventListener('click', () =>
    post('/models/rollback')
      .then((r) => {
        flash(r.active === null ? 'En uso: el modelo incluido en la instalación.' : `En uso: versión ${r.active}.`);
        return loadModels();
      })
      .catch((e) => flash(e.message, true)),
  );
  $('dict-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const list = (v, sep) => v.split(sep).map((s) => s.trim()).filter(Boolean);
    post('/dictionary', {
      term: $('dict-term').value,
      canonical: $('dict-canonical').value,
      category: $('dict-category').value,
      synonyms: list($('dict-synonyms').value, ','),
      examples: list($('dict-examples').value, ';'),
    })
      .then(() => {
        $('dict-form').reset();
        flash('Agregada. Se aplicará con la próxima versión del modelo.');
        return loadDictionary();
      })
      .catch((x) => flash(x.message, true));
  });
  $('ft-form').addEventListener('submit', (e) => validateExport(e).catch((x) => flash(x.message, true)));
  $('ft-download').addEventListener('click', async () => {
    const f = ftFilters();
    const q = new URLSearchParams({ min_rating: f.min_rating === null ? 'none' : String(f.min_rating), outcome: f.outcome, ...(f.from ? { from: f.from } : {}), ...(f.to ? { to: f.to } : {}) });
    const text = await api(`/finetune/export.jsonl?${q}`).catch((x) => flash(x.message, true));
    if (typeof text !== 'string') return;
    const a = el('a', { href: URL.createObjectURL(new Blob([text], { type: 'application/jsonl' })), download: 'acuerdo-finetune.jsonl' });
    a.click();
    URL.revokeObjectURL(a.href);
  });
  $('ft-start').addEventListener('click', () => {
    const epochs = Number($('ft-epochs').value);
    post('/finetune/jobs', { filters: ftFilters(), ...(epochs ? { epochs } : {}) })
      .then((j) => {
        flash(j.status === 'failed' ? `OpenAI rechazó el trabajo: ${j.error}` : `Trabajo ${j.openai_job_id} creado; el programador de tareas lo sigue.`, j.status === 'failed');
        return loadJobs();
      })
      .catch((x) => flash(x.message, true));
  });
  $('debt-form').addEventListener('submit', (e) => showDebt(e).catch((x) => flash(x.message, true)));
}

async function resume() {
  if (state.token) return start();
  if (sessionStorage.getItem(SESSION_KEY)) {
    const res = await fetch('/api/v1/auth/session', { credentials: 'same-origin' });
    if (res.ok) {
      const body = await res.json();
      if (body.csrf_token) {
        state.csrf = body.csrf_token;
        return start();
      }
    }
  }
  showLogin();
}

wire();
resume().catch((err) => showLogin(String(err.message || err)));
