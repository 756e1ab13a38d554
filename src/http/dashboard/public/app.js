// acuerdo supervisor dashboard. Plain browser JavaScript, no build step, no framework.
// Everything from the server is put into the page with textContent, never as HTML.
// Two ways in: a user's e-mail and password (an httpOnly session cookie the script never
// sees; every change also sends the session's CSRF token), or the ADMIN_TOKEN, kept in
// sessionStorage and sent as a Bearer header. What a role may not use is not shown (the
// server refuses it anyway).

const API = '/api/v1/admin';
const AUTH = '/api/v1/auth';
const ROLE_RANK = { agent: 0, supervisor: 1, admin: 2 };
const ROLE_LABEL = { agent: 'Asesor', supervisor: 'Supervisor', admin: 'Administrador' };
const REFRESH_MS = 5000;
const TOKEN_KEY = 'acuerdo.admin.token';
const AGENT_KEY = 'acuerdo.admin.agent';
/** Set while this tab has a session (the cookie itself is out of the script's reach). */
const SESSION_KEY = 'acuerdo.admin.session';

const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  /** Set while signed in with e-mail and password: the session's CSRF token. */
  csrf: null,
  role: 'admin',
  agent: sessionStorage.getItem(AGENT_KEY) || 'Supervisor',
  view: 'overview',
  funnel: [],
  selectedConversation: null,
  selectedHandoff: null,
  timer: null,
};

// ---------- helpers ----------

/** Creates an element with attributes and children (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const svgNS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, text) {
  const el = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

const money = new Intl.NumberFormat('es-CO', { style: 'currency', currency: 'COP', maximumFractionDigits: 0 });
const number = new Intl.NumberFormat('es-CO');
const dateTime = new Intl.DateTimeFormat('es-CO', { dateStyle: 'short', timeStyle: 'short', timeZone: 'America/Bogota' });
const time = new Intl.DateTimeFormat('es-CO', { timeStyle: 'short', timeZone: 'America/Bogota' });
const fmtDate = (iso) => (iso ? dateTime.format(new Date(iso)) : '');
const fmtWait = (seconds) => (seconds < 60 ? `${seconds} s` : seconds < 3600 ? `${Math.floor(seconds / 60)} min` : `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`);
const STATUS = { open: 'Abierta', handoff: 'Con asesor', closed: 'Cerrada', archived: 'Archivada' };
const AUTHOR = { debtor: 'Deudor', bot: 'Bot', agent: 'Asesor', system: 'Sistema' };
const SOURCE = { cedula: 'Cédula', model: 'Modelo local', openai: 'OpenAI', rules: 'Reglas' };
const REASON = {
  solicitar_asesor: 'Pidió un asesor',
  fallback_limit: 'El bot no le entendió',
  message_limit: 'Límite de mensajes',
  datos_personales: 'Datos personales (Ley 1581)',
  disputa: 'Disputa',
  flujo: 'Por el flujo',
  verificacion_fallida: 'Identidad: 3 intentos fallidos',
  verificacion_sin_datos: 'Identidad: sin dato para verificar',
};
/** Ley 2300 art. 4: whether the person proved who they are, before anyone talks about the debt. */
const METHOD = { telefono: 'celular', fecha_expedicion: 'fecha de expedición', obligacion: 'n.º de obligación', canal: 'canal verificado', ninguna: 'sin verificación (política)' };
function identityLabel(c) {
  const failed = c.failed_attempts ? ` · ${c.failed_attempts} fallido${c.failed_attempts === 1 ? '' : 's'}` : '';
  switch (c.verification) {
    case 'verificado':
      return `Verificado (${METHOD[c.verification_method] || c.verification_method || '—'})${failed}`;
    case 'pendiente':
      return `Sin verificar${failed}`;
    case 'bloqueado':
      return `Bloqueado${failed}`;
    case 'tercero':
      return 'Tercero: no es el titular';
    default:
      return 'Sin cédula';
  }
}

class HttpError extends Error {
  constructor(status, body) {
    super((body && (body.details || body.error)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, options = {}) {
  const auth = state.csrf
    ? { ...(options.method && options.method !== 'GET' ? { 'x-csrf-token': state.csrf } : {}) }
    : { authorization: `Bearer ${state.token}` };
  const res = await fetch(API + path, {
    ...options,
    credentials: 'same-origin',
    // A FormData body (a document upload) sets its own multipart content type.
    headers: { ...auth, ...(options.body && !(options.body instanceof FormData) ? { 'content-type': 'application/json' } : {}), ...options.headers },
  });
  if (res.status === 401) {
    logout('La sesión expiró o el token cambió. Ingrese de nuevo.');
    throw new HttpError(401, null);
  }
  if (!res.ok) {
    let body = null;
    try {
      body = await res.json();
    } catch {
      /* not JSON */
    }
    throw new HttpError(res.status, body);
  }
  return res;
}
const getJson = async (path) => (await api(path)).json();
const postJson = async (path, body) => (await api(path, { method: 'POST', body: JSON.stringify(body) })).json();

function showError(err) {
  const box = $('app-error');
  box.textContent = err instanceof Error ? err.message : String(err);
  box.hidden = false;
  setTimeout(() => (box.hidden = true), 6000);
}

function fillTable(table, rows, render, onClick) {
  const body = table.tBodies[0];
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = h('tr', {}, ...render(row).map((cell) => (cell instanceof Node && cell.tagName === 'TD' ? cell : h('td', {}, cell))));
      if (onClick) {
        tr.tabIndex = 0;
        tr.addEventListener('click', () => onClick(row, tr));
        tr.addEventListener('keydown', (e) => e.key === 'Enter' && onClick(row, tr));
      }
      return tr;
    }),
  );
}

function renderTranscript(container, transcript) {
  const c = transcript.conversation;
  const head = h(
    'div',
    { class: 'transcript-head' },
    h('strong', {}, c.debtor_name || 'Sin identificar'),
    c.cedula ? ` · CC ${c.cedula}` : '',
    ` · ${c.channel} · ${STATUS[c.status] || c.status} · paso: ${c.state}`,
    h('span', { class: `identity ${c.verification || 'none'}`, title: 'Identidad (Ley 2300, art. 4)' }, ` · identidad: ${identityLabel(c)}`),
    c.portfolio ? ` · ${c.portfolio}` : '',
    c.assigned_to ? ` · asesor: ${c.assigned_to}` : '',
  );
  const list = h(
    'ol',
    { class: 'messages', 'aria-label': 'Mensajes' },
    transcript.messages.map((m) =>
      h(
        'li',
        { class: `msg ${m.direction} ${m.author}`, dataset: { author: m.author } },
        h('span', { class: 'meta' }, `${AUTHOR[m.author] || m.author} · ${time.format(new Date(m.created_at))}`, m.intent ? ` · ${m.intent} (${(m.confidence ?? 0).toFixed(2)}, ${m.nlu_source})` : ''),
        h('span', { class: 'text' }, m.text ?? (m.media_kind ? `[${m.media_kind}]` : m.button_id ? `[botón ${m.button_id}]` : '')),
        m.buttons && m.buttons.length ? h('span', { class: 'buttons' }, m.buttons.map((b) => h('span', { class: 'chip' }, b.text))) : null,
      ),
    ),
  );
  container.replaceChildren(head, list);
  list.scrollTop = list.scrollHeight;
}

// ---------- overview ----------

function renderFunnel() {
  const portfolio = $('funnel-portfolio').value;
  const channel = $('funnel-channel').value;
  const rows = state.funnel.filter((r) => (portfolio === '*' || String(r.portfolio_id) === portfolio) && (channel === '*' || r.channel === channel));
  const totals = rows.reduce(
    (t, r) => ({ conversations: t.conversations + r.conversations, identified: t.identified + r.identified, offered: t.offered + r.offered, agreements: t.agreements + r.agreements }),
    { conversations: 0, identified: 0, offered: 0, agreements: 0 },
  );
  const stages = [
    ['conversations', 'Conversaciones'],
    ['identified', 'Identificados'],
    ['offered', 'Con oferta'],
    ['agreements', 'Acuerdos'],
  ];
  const width = 560;
  const barH = 34;
  const gap = 12;
  const labelW = 130;
  const svg = s('svg', { viewBox: `0 0 ${width} ${stages.length * (barH + gap)}`, role: 'img', 'aria-label': 'Embudo de negociación', class: 'funnel' });
  const max = Math.max(totals.conversations, 1);
  stages.forEach(([key, label], i) => {
    const value = totals[key];
    const y = i * (barH + gap);
    const w = Math.max(2, ((width - labelW - 90) * value) / max);
    svg.append(s('text', { x: 0, y: y + barH / 2 + 5, class: 'label' }, label));
    svg.append(s('rect', { x: labelW, y, width: w, height: barH, rx: 4, class: `stage stage-${i}`, 'data-stage': key }));
    const pct = totals.conversations ? Math.round((100 * value) / totals.conversations) : 0;
    svg.append(s('text', { x: labelW + w + 8, y: y + barH / 2 + 5, class: 'value', 'data-value': key }, `${number.format(value)} (${pct}%)`));
  });
  $('funnel-chart').replaceChildren(svg);
}

function fillSelect(select, options, keep) {
  const current = keep ? select.value : '*';
  select.replaceChildren(...options.map(([value, label]) => h('option', { value }, label)));
  if (options.some(([v]) => v === current)) select.value = current;
}

async function loadOverview() {
  const [funnel, metrics, nlu, alerts] = await Promise.all([getJson('/funnel'), getJson('/metrics'), getJson('/nlu'), getJson('/alerts?status=open')]);
  state.funnel = funnel.rows;
  const portfolios = new Map();
  const channels = new Set();
  for (const r of funnel.rows) {
    portfolios.set(String(r.portfolio_id), r.portfolio || 'Sin identificar');
    channels.add(r.channel);
  }
  fillSelect($('funnel-portfolio'), [['*', 'Todas'], ...[...portfolios].sort((a, b) => a[1].localeCompare(b[1]))], true);
  fillSelect($('funnel-channel'), [['*', 'Todos'], ...[...channels].sort().map((c) => [c, c])], true);
  renderFunnel();

  const m = metrics.summary;
  const items = [
    ['Mensajes', number.format(m.total_requests)],
    ['Tasa de error', `${(m.error_rate * 100).toFixed(1)} %`],
    ['Respuesta media', `${Math.round(m.avg_response_time_ms)} ms`],
    ['Baja confianza', `${(m.low_confidence_rate * 100).toFixed(1)} %`],
    ['En cola de asesor', number.format(metrics.handoffs.queued)],
    ['Acuerdos', number.format(metrics.agreements.in_window)],
    ['Costo OpenAI', `US$ ${metrics.openai.cost_usd.toFixed(4)}`],
  ];
  $('summary').replaceChildren(...items.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));

  fillTable($('nlu-sources'), nlu.sources, (r) => [SOURCE[r.source] || r.source, number.format(r.messages), `${(r.share * 100).toFixed(1)} %`, r.avg_confidence === null ? '' : r.avg_confidence.toFixed(2)]);
  $('nlu-threshold').textContent = `umbral ${nlu.threshold}`;
  fillTable($('nlu-low'), nlu.low_confidence, (r) => [fmtDate(r.created_at), r.channel, r.text ?? '', r.intent ?? '', r.confidence.toFixed(2), SOURCE[r.nlu_source] || r.nlu_source || '']);
  $('alerts').replaceChildren(
    ...(alerts.items.length ? alerts.items.map((a) => h('li', { class: `alert ${a.severity}` }, `${fmtDate(a.raised_at)} · ${a.message}`)) : [h('li', { class: 'muted' }, 'Sin alertas.')]),
  );
}

// ---------- conversations ----------

async function openConversation(id, container) {
  const transcript = await getJson(`/conversations/${encodeURIComponent(id)}`);
  renderTranscript(container, transcript);
  return transcript;
}

async function loadConversations() {
  const params = new URLSearchParams({ limit: '50' });
  const status = $('conv-status').value;
  const channel = $('conv-channel').value.trim();
  if (status) params.set('status', status);
  if (channel) params.set('channel', channel);
  const list = await getJson(`/conversations?${params}`);
  fillTable(
    $('conversations'),
    list.items,
    (c) => [fmtDate(c.last_activity_at), c.source ? `${c.channel} · ${c.source}` : c.channel, c.debtor_name || 'Sin identificar', identityLabel(c), c.portfolio || '', c.state, STATUS[c.status] || c.status, c.last_message || ''],
    (c, tr) => {
      state.selectedConversation = c.id;
      for (const row of tr.parentElement.children) row.classList.toggle('selected', row === tr);
      openConversation(c.id, $('conv-transcript')).catch(showError);
    },
  );
  if (state.selectedConversation) await openConversation(state.selectedConversation, $('conv-transcript'));
}

// ---------- handoff queue ----------

async function selectHandoff(id) {
  state.selectedHandoff = id;
  $('handoff-panel').hidden = false;
  $('handoff-none').hidden = true;
  const transcript = await openConversation(id, $('handoff-transcript'));
  $('handoff-take').disabled = transcript.conversation.assigned_to === state.agent;
}

async function loadHandoffs() {
  const queue = await getJson('/handoffs');
  updateBadge(queue.items.length);
  $('queue-empty').hidden = queue.items.length > 0;
  fillTable(
    $('queue'),
    queue.items,
    (c) => [fmtWait(c.waiting_seconds), c.channel, c.debtor_name || 'Sin identificar', identityLabel(c), REASON[c.handoff_reason] || c.handoff_reason || '', c.assigned_to || '—', String(c.unanswered), c.last_message || ''],
    (c, tr) => {
      for (const row of tr.parentElement.children) row.classList.toggle('selected', row === tr);
      selectHandoff(c.id).catch(showError);
    },
  );
  if (state.selectedHandoff && queue.items.some((c) => c.id === state.selectedHandoff)) await selectHandoff(state.selectedHandoff);
  else {
    state.selectedHandoff = null;
    $('handoff-panel').hidden = true;
    $('handoff-none').hidden = false;
  }
}

function updateBadge(n) {
  const badge = $('queue-badge');
  badge.textContent = String(n);
  badge.hidden = n === 0;
}

async function handoffAction(action, extra = {}) {
  if (!state.selectedHandoff) return;
  await postJson(`/handoffs/${state.selectedHandoff}/${action}`, { agent: state.agent, ...extra });
}

// ---------- agreements ----------

async function loadAgreements() {
  const list = await getJson('/agreements?limit=200');
  $('agreements-total').textContent = `${number.format(list.total)} acuerdos · ${money.format(list.total_amount)}`;
  fillTable($('agreements'), list.items, (a) => [
    fmtDate(a.created_at),
    a.portfolio,
    a.cedula,
    a.debtor_name,
    a.kind === 'contado' ? 'Contado' : 'Cuotas',
    money.format(a.total),
    String(a.installments),
    money.format(a.installment_amount),
    a.first_due_date,
    a.channel,
    a.reference ?? '',
    AGREEMENT_STATUS[a.status] ?? a.status,
    `${a.paid_installments ?? 0}/${a.installments} pagadas${a.overdue_installments ? ` · ${a.overdue_installments} vencida(s)` : ''}${a.next_due_date ? ` · próxima ${a.next_due_date}` : ''}`,
  ], (a) => showAgreement(a.id).catch(showError));
  await loadAgreementFigures().catch(() => undefined);
}

const AGREEMENT_STATUS = { vigente: 'Vigente', cumplido: 'Cumplido', incumplido: 'Incumplido', cancelado: 'Cancelado', reemplazado: 'Reemplazado' };
const INSTALLMENT_STATUS = { pendiente: 'Pendiente', parcial: 'Parcial', pagada: 'Pagada', vencida: 'Vencida' };

/** One agreement's schedule and payments (GET /agreements/:id). */
async function showAgreement(id) {
  const a = await getJson(`/agreements/${id}`);
  $('agreement-detail').hidden = false;
  $('agreement-detail-ref').textContent = a.reference ?? `#${a.id}`;
  $('agreement-detail-status').textContent = `${AGREEMENT_STATUS[a.status] ?? a.status} · pagado ${money.format(a.paid)} de ${money.format(a.total)}`;
  fillTable($('agreement-schedule'), a.schedule, (i) => [String(i.number), i.due_date, money.format(i.amount), money.format(i.paid_amount), INSTALLMENT_STATUS[i.status] ?? i.status]);
  fillTable($('agreement-payments'), a.payments, (p) => [
    p.paid_on,
    p.source === 'gateway' ? 'Pasarela' : p.source === 'traslado' ? 'Traslado de acuerdo anterior' : 'Archivo del banco',
    p.method ?? '',
    money.format(p.amount),
    p.allocations.map((l) => `cuota ${l.installment}: ${money.format(l.amount)}`).join(', '),
  ]);
}

/** Promises kept, amount recovered by portfolio and month, the broken-promise queue (GET /agreements-overview). */
async function loadAgreementFigures() {
  const o = await getJson('/agreements-overview');
  const k = o.promise_keeping;
  $('promise-keeping').textContent = k.rate === null ? 'sin cuotas vencidas todavía' : `${Math.round(k.rate * 100)} % de las cuotas pagadas a tiempo (${number.format(k.on_time)} de ${number.format(k.due)})`;
  fillTable($('recovered'), o.recovered, (r) => [r.month, r.portfolio, number.format(r.payments), money.format(r.amount)]);
  $('broken-count').textContent = `${o.broken_queue.length}`;
  fillTable($('broken-queue'), o.broken_queue, (q) => [fmtDate(q.created_at), q.portfolio, q.debtor_name, q.reference, money.format(q.total)], (q) => showAgreement(q.agreement_id).catch(showError));
  $('unmatched-payments').textContent = o.unmatched_payments.n ? `${number.format(o.unmatched_payments.n)} pago(s) sin acuerdo por ${money.format(o.unmatched_payments.amount)}` : '';
}

async function downloadCsv() {
  const res = await api('/agreements.csv');
  const blob = await res.blob();
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '')?.[1] || 'acuerdos.csv';
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---------- views, login ----------

// ---------- documents ----------

const DOC_TYPE = { pdf: 'PDF', docx: 'DOCX', txt: 'TXT', md: 'Markdown' };
const fmtSize = (bytes) => (bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1048576).toFixed(1)} MB`);

/** The agency's documents: upload, list, deactivate, delete; the questions debtors asked and which went unanswered. */
async function loadDocuments() {
  const [{ documents }, stats] = await Promise.all([getJson('/documents'), getJson('/documents/questions')]);
  const answers = new Map(stats.perDocument.map((d) => [d.document_id, d.answers]));
  fillTable($('documents'), documents, (d) => [
    d.title,
    d.file_name,
    DOC_TYPE[d.type] || d.type,
    fmtSize(d.size_bytes),
    d.portfolio || 'Todas',
    number.format(d.chunks),
    h('td', { class: d.active ? 'ok' : 'muted', dataset: { active: String(d.active) } }, d.active ? 'Activo' : 'Inactivo'),
    number.format(answers.get(d.id) || 0),
    h(
      'td',
      { class: 'actions' },
      h('button', { class: 'secondary', dataset: { toggle: String(d.id) }, onclick: () => documentAction(d.id, { method: 'PATCH', body: JSON.stringify({ active: !d.active }) }) }, d.active ? 'Desactivar' : 'Activar'),
      h('button', { class: 'danger', dataset: { delete: String(d.id) }, onclick: () => confirm(`¿Eliminar «${d.title}»?`) && documentAction(d.id, { method: 'DELETE' }) }, 'Eliminar'),
    ),
  ]);
  const deleted = stats.perDocument.filter((d) => !documents.some((doc) => doc.id === d.document_id));
  $('doc-summary').replaceChildren(
    ...[
      ['Preguntas', number.format(stats.total)],
      ['Respondidas', number.format(stats.answered)],
      ['Sin respuesta', number.format(stats.unanswered)],
      ...deleted.map((d) => [`${d.title || 'Documento'} (eliminado)`, `${number.format(d.answers)} respuestas`]),
    ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
  );
  fillTable($('doc-unanswered'), stats.unansweredRecent, (q) => [fmtDate(q.asked_at), q.channel, q.question]);
  fillTable($('doc-questions'), stats.recent, (q) => [fmtDate(q.asked_at), q.channel, q.question, q.answered ? q.document_title || '' : 'Sin respuesta', q.generated ? 'OpenAI' : q.retrieval === 'hybrid' ? 'Pasaje (híbrida)' : 'Pasaje']);
}

async function documentAction(id, options) {
  try {
    await api(`/documents/${id}`, options);
    await loadDocuments();
  } catch (err) {
    showError(err);
  }
}

async function uploadDocument(event) {
  event.preventDefault();
  const file = $('doc-file').files[0];
  if (!file) return;
  const form = new FormData();
  form.append('file', file, file.name);
  if ($('doc-portfolio').value.trim()) form.append('portfolio', $('doc-portfolio').value.trim());
  if ($('doc-title').value.trim()) form.append('title', $('doc-title').value.trim());
  const status = $('doc-upload-status');
  status.textContent = 'Cargando…';
  try {
    const { document: d } = await (await api('/documents', { method: 'POST', body: form })).json();
    status.textContent = `«${d.title}» cargado: ${d.chunks} fragmento${d.chunks === 1 ? '' : 's'}.`;
    $('doc-upload-form').reset();
    await loadDocuments();
  } catch (err) {
    status.textContent = `No se cargó: ${err.message}`;
  }
}

const LOADERS = { overview: loadOverview, conversations: loadConversations, handoffs: loadHandoffs, agreements: loadAgreements, documents: loadDocuments, audit: loadAudit };

const AUDIT_ACTION = {
  login: 'Ingreso', login_failed: 'Ingreso fallido', login_locked: 'Cuenta bloqueada', logout: 'Salida', export: 'Exportación',
  setting_change: 'Cambio de configuración', takeover: 'Tomó la conversación', reply: 'Respuesta', return_to_bot: 'Devolvió al bot',
  conversation_close: 'Cerró la conversación', agreement_change: 'Cambio de acuerdo', document_upload: 'Carga de documento',
  user_change: 'Cambio de usuario', api_token_change: 'Token de API', denied: 'Acceso negado',
};

/** The audit trail (admins): the latest 100 entries. */
async function loadAudit() {
  const { items } = await getJson('/audit?limit=100');
  fillTable($('audit-table'), items, (e) => [fmtDate(e.at), e.actor, ROLE_LABEL[e.actor_role] || e.actor_role || '', AUDIT_ACTION[e.action] || e.action, e.target || '', e.ip || '']);
}

async function download(path, fallbackName) {
  const res = await api(path);
  const blob = await res.blob();
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '')?.[1] || fallbackName;
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const mayUse = (minRole) => ROLE_RANK[state.role] >= ROLE_RANK[minRole || 'agent'];

async function refresh() {
  try {
    await LOADERS[state.view]();
    if (state.view !== 'handoffs') updateBadge((await getJson('/handoffs')).items.length);
    document.body.dataset.loaded = state.view;
  } catch (err) {
    if (!(err instanceof HttpError && err.status === 401)) showError(err);
  }
}

function show(view) {
  const tab = document.querySelector(`[role=tab][data-view=${view}]`);
  if (tab && !mayUse(tab.dataset.role)) view = 'handoffs';
  state.view = view;
  for (const tab of document.querySelectorAll('[role=tab]')) tab.setAttribute('aria-selected', String(tab.dataset.view === view));
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${view}`;
  delete document.body.dataset.loaded;
  refresh();
}

function startApp() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('who').textContent = state.agent;
  $('who-role').textContent = state.csrf ? ROLE_LABEL[state.role] || state.role : '';
  for (const tab of document.querySelectorAll('[role=tab]')) tab.hidden = !mayUse(tab.dataset.role);
  $('agreements-csv').hidden = !mayUse('supervisor');
  show(state.view);
  clearInterval(state.timer);
  state.timer = setInterval(() => document.visibilityState === 'visible' && refresh(), REFRESH_MS);
}

function logout(message) {
  if (state.csrf) {
    // Ends the session on the server; the cookie goes with it.
    fetch(`${AUTH}/logout`, { method: 'POST', credentials: 'same-origin', headers: { 'x-csrf-token': state.csrf } }).catch(() => undefined);
  }
  state.csrf = null;
  state.role = 'admin';
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  clearInterval(state.timer);
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
}

async function login(event) {
  event.preventDefault();
  const token = $('login-token').value.trim();
  const agent = $('login-agent').value.trim() || 'Supervisor';
  const res = await fetch(`${API}/session`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status === 200) {
    state.token = token;
    state.agent = agent;
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(AGENT_KEY, agent);
    $('login-token').value = '';
    $('login-error').textContent = '';
    startApp();
  } else if (res.status === 404) {
    $('login-error').textContent = 'La API de administración está desactivada: configure ADMIN_TOKEN en el servidor.';
  } else if (res.status === 429) {
    $('login-error').textContent = 'Demasiados intentos. Espere un minuto.';
  } else {
    $('login-error').textContent = 'Token incorrecto.';
  }
}

/** Signed in with e-mail and password: the cookie is set; keep the CSRF token and the role. */
function startSession(body) {
  state.token = null;
  state.csrf = body.csrf_token;
  state.role = body.user.role;
  sessionStorage.setItem(SESSION_KEY, '1');
  state.agent = body.user.name;
  if (!mayUse('supervisor') && state.view === 'overview') state.view = 'handoffs';
  startApp();
}

async function loginUser(event) {
  event.preventDefault();
  const error = $('login-user-error');
  const pre = await fetch(`${AUTH}/csrf`, { credentials: 'same-origin' });
  const { csrf_token } = await pre.json();
  const res = await fetch(`${AUTH}/login`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf_token },
    body: JSON.stringify({ email: $('login-email').value.trim(), password: $('login-password').value }),
  });
  $('login-password').value = '';
  if (res.status === 200) {
    error.textContent = '';
    startSession(await res.json());
  } else if (res.status === 423) {
    const body = await res.json().catch(() => ({}));
    const until = body.locked_until ? ` Intente de nuevo después de las ${time.format(new Date(body.locked_until))}` : '';
    error.textContent = `Cuenta bloqueada por demasiados intentos fallidos.${until}`;
  } else if (res.status === 429) {
    error.textContent = 'Demasiados intentos desde esta conexión. Espere un minuto.';
  } else if (res.status === 401) {
    error.textContent = 'Correo o contraseña incorrectos.';
  } else {
    error.textContent = `No se pudo ingresar (HTTP ${res.status}).`;
  }
}

/** On load: a live session cookie signs the user back in (the CSRF token comes with it). */
async function resumeSession() {
  if (!sessionStorage.getItem(SESSION_KEY)) return false;
  const res = await fetch(`${AUTH}/session`, { credentials: 'same-origin' });
  if (res.status !== 200) return false;
  const body = await res.json();
  if (!body.csrf_token) return false;
  startSession(body);
  return true;
}

function wire() {
  $('login-user-form').addEventListener('submit', (e) => loginUser(e).catch((err) => ($('login-user-error').textContent = String(err.message || err))));
  $('audit-csv').addEventListener('click', () => download('/audit.csv', 'auditoria.csv').catch(showError));
  $('doc-upload-form').addEventListener('submit', (e) => uploadDocument(e));
  $('login-form').addEventListener('submit', (e) => login(e).catch((err) => ($('login-error').textContent = String(err.message || err))));
  $('logout').addEventListener('click', () => logout());
  for (const tab of document.querySelectorAll('[role=tab]')) tab.addEventListener('click', () => show(tab.dataset.view));
  $('funnel-portfolio').addEventListener('change', renderFunnel);
  $('funnel-channel').addEventListener('change', renderFunnel);
  $('conv-status').addEventListener('change', () => refresh());
  $('conv-channel').addEventListener('change', () => refresh());
  $('agreements-csv').addEventListener('click', () => downloadCsv().catch(showError));
  $('handoff-take').addEventListener('click', () => handoffAction('take').then(refresh, showError));
  $('handoff-release').addEventListener('click', () =>
    handoffAction('release').then(() => {
      state.selectedHandoff = null;
      return refresh();
    }, showError),
  );
  $('handoff-close').addEventListener('click', () => {
    if (!confirm('¿Cerrar esta conversación?')) return;
    handoffAction('close').then(() => {
      state.selectedHandoff = null;
      return refresh();
    }, showError);
  });
  $('reply-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('reply-text').value.trim();
    if (!text) return;
    $('reply-status').textContent = 'Enviando…';
    handoffAction('reply', { text }).then(
      () => {
        $('reply-text').value = '';
        $('reply-status').textContent = 'Enviado.';
        return refresh();
      },
      (err) => {
        $('reply-status').textContent = '';
        showError(err);
      },
    );
  });
  if (state.token) startApp();
  else
    resumeSession().then(
      (resumed) => resumed || logout(),
      () => logout(),
    );
}

wire();
