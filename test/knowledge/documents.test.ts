import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/core/index.js';
import { createChatConversations } from '../../src/engine/index.js';
import { createApp } from '../../src/http/app.js';
import { CHAT_API_PATH, createChatRouter } from '../../src/http/chat-routes.js';
import { createKnowledgeRouter, DOCUMENTS_PATH } from '../../src/http/knowledge-routes.js';
import { createKnowledge, NO_INFORMATION } from '../../src/knowledge/index.js';
import { detectCedula } from '../../src/nlu/index.js';
import { CARLOS, CARLOS_DIGITS, engineFixture, insertDebtor, insertPortfolio, quietLog, type EngineFixture } from '../engine/support/harness.js';
import { docxFixture, pdfFixture, txtFixture } from './fixtures.js';

const TOKEN = 'documents-test-admin-token';

type Reply = { text: string; buttons?: { id: string }[] };

describe('answers from the agency’s documents (upload over the admin API, questions over the REST chat API)', function () {
  let f: EngineFixture;
  let server: http.Server;
  let base: string;

  before(async () => {
    f = await engineFixture();
    const portfolio = await insertPortfolio(f.knex, 'Demo');
    await insertPortfolio(f.knex, 'Otra Cartera');
    await insertDebtor(f.knex, portfolio, CARLOS);
    const knowledge = createKnowledge({ knex: f.knex, clock: f.clock, log: quietLog });
    const engine = f.makeEngine({ knowledge });
    const app = createApp({
      clock: f.clock,
      knex: f.knex,
      config: loadConfig({ LOG_LEVEL: 'silent' }),
      log: quietLog,
      routes: [
        { path: CHAT_API_PATH, router: createChatRouter({ engine, conversations: createChatConversations(f.knex), detectCedula, clock: f.clock }) },
        { path: DOCUMENTS_PATH, router: createKnowledgeRouter({ knex: f.knex, clock: f.clock, log: quietLog, adminToken: () => TOKEN }) },
      ],
    });
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await f?.db.drop();
  });

  const auth = { authorization: `Bearer ${TOKEN}` };
  async function upload(name: string, data: Buffer, fields: Record<string, string> = {}) {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(data)]), name);
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    const res = await fetch(`${base}${DOCUMENTS_PATH}`, { method: 'POST', headers: auth, body: form });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { document: Record<string, unknown> } };
  }
  async function say(user: string, message: string, button_id?: string) {
    const res = await fetch(`${base}${CHAT_API_PATH}/message`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: user, message, button_id }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { current_state: string; replies: Reply[] };
    return { state: body.current_state, text: body.replies.map((r) => r.text).join('\n'), replies: body.replies };
  }
  const documentCount = async () => Number(((await f.knex('documents').count({ n: '*' })) as { n: string }[])[0]!.n);

  it('stores a PDF, a DOCX and a TXT with their fields, chunked by headings', async () => {
    const pdf = await upload('sedes-regionales.pdf', await pdfFixture(), { title: 'Sedes regionales' });
    assert.equal(pdf.status, 201, JSON.stringify(pdf.body));
    const docxFile = await docxFixture();
    const docx = await upload('certificados.docx', docxFile);
    assert.equal(docx.status, 201, JSON.stringify(docx.body));
    const txt = await upload('glosario_breve.txt', txtFixture(), { portfolio: 'Demo' });
    assert.equal(txt.status, 201, JSON.stringify(txt.body));
    assert.deepEqual(
      [pdf, docx, txt].map(({ body: { document: d } }) => [d.title, d.file_name, d.type, d.processed, d.active, d.portfolio]),
      [
        ['Sedes regionales', 'sedes-regionales.pdf', 'pdf', true, true, null],
        ['certificados', 'certificados.docx', 'docx', true, true, null],
        ['glosario breve', 'glosario_breve.txt', 'txt', true, true, 'Demo'],
      ],
    );
    assert.equal(docx.body.document.size_bytes, docxFile.length);
    const chunks = (await f.knex('document_chunks').orderBy(['document_id', 'chunk_index']).select('heading')) as { heading: string }[];
    assert.deepEqual(
      chunks.map((c) => c.heading),
      ['Sede Pereira', 'Sede Manizales', 'Certificado de retiro de reporte interno', 'Carta de saldo para notaría', 'Subrogación', 'Cesión de cartera'],
    );
    const listed = (await (await fetch(`${base}${DOCUMENTS_PATH}`, { headers: auth })).json()) as { documents: { chunks: number }[] };
    assert.deepEqual(listed.documents.map((d) => d.chunks), [2, 2, 2]);
  });

  it('answers a debtor’s general questions from the right document, naming it, and stays where it was', async () => {
    const hello = await say('doc-1', 'hola');
    assert.equal(hello.state, 'inicial');
    const pereira = await say('doc-1', '¿Dónde queda la sede de Pereira?');
    assert.match(pereira.text, /Carrera 8 # 20-15/);
    assert.match(pereira.text, /Fuente: «Sedes regionales»/);
    assert.equal(pereira.state, 'inicial', 'the conversation resumes where it was');

    const certificate = await say('doc-1', '¿Qué necesito para el certificado de retiro de reporte interno?');
    assert.match(certificate.text, /formulario F-27/);
    assert.match(certificate.text, /Fuente: «certificados»/);

    // The TXT is the Demo portfolio's: an anonymous visitor does not see it; Carlos (Demo) does.
    const anonymous = await say('doc-1', '¿Qué es la subrogación?');
    assert.equal(anonymous.text.split('\n')[0], NO_INFORMATION.split('\n')[0]);
    await say('doc-2', 'hola');
    await say('doc-2', CARLOS.cedula);
    const identified = await say('doc-2', CARLOS_DIGITS);
    assert.equal(identified.state, 'informar_deuda');
    const plans = await say('doc-2', '', 'ver_opciones');
    assert.equal(plans.state, 'proponer_planes_pago');
    const subrogation = await say('doc-2', 'disculpe, ¿qué significa subrogación?');
    assert.match(subrogation.text, /fiador o un tercero paga la deuda/);
    assert.match(subrogation.text, /Fuente: «glosario breve»/);
    assert.equal(subrogation.state, 'proponer_planes_pago', 'the negotiation resumes where it was');
    assert.deepEqual(subrogation.replies.at(-1)?.buttons?.map((b) => b.id), ['contado', 'cuotas_3', 'cuotas_6', 'cuotas_12'], 'the plans are offered again');
  });

  it('says honestly it does not know, offering a person; never answers the debtor’s own debt or promises about credit reports', async () => {
    await say('doc-3', 'hola');
    const unknown = await say('doc-3', '¿Tienen parqueadero para bicicletas en la sede?');
    assert.match(unknown.text, /No tengo esa información/);
    assert.match(unknown.text, /asesor/);
    assert.doesNotMatch(unknown.text, /Fuente/);

    const own = await say('doc-3', '¿cuánto debo?');
    assert.doesNotMatch(own.text, /Fuente|No tengo esa información/);

    const embargo = await say('doc-3', '¿me pueden embargar el sueldo?');
    assert.doesNotMatch(embargo.text, /Fuente/);
    assert.match(embargo.text, /no puedo darle una respuesta ni prometerle nada/);
  });

  it('refuses a corrupt or unsupported file with its name and reason, storing nothing', async () => {
    const before = await documentCount();
    const broken = await upload('roto.pdf', Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage'));
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error, 'unreadable_document');
    assert.match(String(broken.body.details), /^roto\.pdf: the PDF cannot be read/);
    const notDocx = await upload('informe.docx', Buffer.from('just text pretending'));
    assert.equal(notDocx.status, 400);
    assert.match(String(notDocx.body.details), /informe\.docx: not a DOCX file/);
    const exe = await upload('virus.exe', Buffer.from('MZ...'));
    assert.equal(exe.status, 400);
    assert.match(String(exe.body.details), /unsupported file type/);
    const noPortfolio = await upload('a.txt', Buffer.from('Un texto cualquiera.'), { portfolio: 'No Existe' });
    assert.deepEqual([noPortfolio.status, noPortfolio.body.error], [400, 'unknown_portfolio']);
    const noFile = await fetch(`${base}${DOCUMENTS_PATH}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(noFile.status, 400);
    const brokenMultipart = await fetch(`${base}${DOCUMENTS_PATH}`, { method: 'POST', headers: { ...auth, 'content-type': 'multipart/form-data; boundary=x' }, body: '--x\r\nbroken' });
    assert.equal(brokenMultipart.status, 400);
    assert.equal(await documentCount(), before, 'nothing half-stored');
    assert.equal((await fetch(`${base}${DOCUMENTS_PATH}`)).status, 401, 'supervisors only');
  });

  it('reports questions asked, unanswered ones and answers per document; a deactivated document stops answering; delete removes it', async () => {
    const stats = (await (await fetch(`${base}${DOCUMENTS_PATH}/questions`, { headers: auth })).json()) as {
      total: number;
      unanswered: number;
      unansweredRecent: { question: string }[];
      perDocument: { title: string; answers: number }[];
    };
    assert.equal(stats.total, 5);
    assert.equal(stats.unanswered, 2);
    assert.deepEqual(stats.unansweredRecent.map((q) => q.question).sort(), ['¿Qué es la subrogación?', '¿Tienen parqueadero para bicicletas en la sede?']);
    assert.deepEqual(
      stats.perDocument.map((d) => [d.title, d.answers]).sort(),
      [
        ['Sedes regionales', 1],
        ['certificados', 1],
        ['glosario breve', 1],
      ],
    );

    const pdf = (await f.knex('documents').where({ type: 'pdf' }).first('id')) as { id: number };
    const off = await fetch(`${base}${DOCUMENTS_PATH}/${pdf.id}`, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ active: false }) });
    assert.equal(off.status, 200);
    assert.equal(((await off.json()) as { document: { active: boolean } }).document.active, false);
    await say('doc-4', 'hola');
    assert.match((await say('doc-4', '¿Dónde queda la sede de Pereira?')).text, /No tengo esa información/);
    const bad = await fetch(`${base}${DOCUMENTS_PATH}/${pdf.id}`, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: '{"active":"no"}' });
    assert.equal(bad.status, 400);

    assert.equal((await fetch(`${base}${DOCUMENTS_PATH}/${pdf.id}`, { method: 'DELETE', headers: auth })).status, 204);
    assert.equal((await fetch(`${base}${DOCUMENTS_PATH}/${pdf.id}`, { method: 'DELETE', headers: auth })).status, 404);
    assert.equal(await f.knex('document_chunks').where({ document_id: pdf.id }).first(), undefined);
    const kept = (await f.knex('document_questions').whereNull('document_id').andWhere('answered', true).select('document_title')) as { document_title: string }[];
    assert.deepEqual(kept.map((k) => k.document_title), ['Sedes regionales'], 'the answered question keeps the deleted document’s title');
  });
});
