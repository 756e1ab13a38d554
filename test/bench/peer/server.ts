/**
 * The peer in `npm run bench:peer`: a BuilderBot bot (the @builderbot/bot core, as
 * people deploy it) running the same short flow as acuerdo's benchmark — greeting,
 * cédula looked up in PostgreSQL, the mobile's last 4 digits checked, the offer, a plan,
 * the agreement stored — with its conversation history in PostgreSQL through an adapter
 * that does what @builderbot/database-postgres does (postgres-history.ts).
 *
 * Messages arrive over HTTP (POST /message { user_id, message }) like acuerdo's REST chat
 * API, and the answer is returned once BuilderBot has sent it and saved it in its
 * history (acuerdo answers once the turn is saved too). Business data (debtors,
 * agreements) goes through a pool of BENCH_POOL connections (default 10, as acuerdo's).
 *
 * Started by the benchmark with PEER_DATABASE_URL; prints "builderbot peer ready at port N".
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { addKeyword, createBot, createFlow, ProviderClass } from '@builderbot/bot';
import pg from 'pg';
import { PostgresHistory, type HistoryEntry } from './postgres-history.js';

const url = process.env.PEER_DATABASE_URL;
if (!url) throw new Error('PEER_DATABASE_URL is required');
const business = new pg.Pool({ connectionString: url, max: Number(process.env.BENCH_POOL ?? 10) });

interface Pending {
  /** The answer the bot sent, once sent. */
  answer?: string;
  resolve(answer: string): void;
}

/** HTTP requests waiting for the bot's answer, by user. */
const pending = new Map<string, Pending>();

/** The flow's prompts. Each captures the next message; after all but the keyword's first, BuilderBot saves a capture mark. */
const PROMPTS = {
  cedula: '¡Hola! Soy el asistente de acuerdos de pago. Para atenderle, escriba su número de cédula.',
  digits: 'Gracias. Por seguridad, escriba los últimos 4 dígitos de su celular.',
  offer: 'Identidad confirmada. ¿Desea conocer su oferta? Escriba "quiero pagar".',
  plans: 'Opciones: 1) pago único con descuento, 2) tres cuotas, 3) seis cuotas. Escriba el número.',
  confirm: 'Para registrar el acuerdo escriba "sí, confirmo".',
};
const CAPTURE_MARK = '__capture_only_intended__';

/**
 * The bot's turn is over when its answer is saved, or — for a prompt that captures the
 * next message — when the capture mark after it is saved: answering earlier would let
 * the next message race the bot's own history writes.
 */
function afterSave(entry: HistoryEntry): void {
  const p = pending.get(entry.from);
  if (p?.answer === undefined) return;
  const waitsForMark = p.answer !== PROMPTS.cedula && Object.values(PROMPTS).includes(p.answer);
  if (waitsForMark ? entry.answer === CAPTURE_MARK : entry.answer === p.answer) p.resolve(p.answer);
}

/** What the harness uses of BuilderBot's ProviderClass (its published types do not resolve without polka's). */
interface ProviderBase {
  server: { post(path: string, handler: (req: never, res: http.ServerResponse) => void): void; server?: http.Server };
  emit(event: string, payload: object): void;
  stop(): Promise<void>;
}
const base = (p: object) => p as ProviderBase;

/** The methods a flow step's callback uses. */
interface StepMethods {
  state: { update(values: Record<string, unknown>): Promise<void>; get(key: string): unknown };
  fallBack(message: string): unknown;
  endFlow(message: string): unknown;
}
type Step = (ctx: { body: string }, methods: StepMethods) => Promise<unknown>;

/** A provider whose "platform" is an HTTP endpoint: a message in, the bot's answer out. */
class HttpProvider extends ProviderClass {
  globalVendorArgs = { name: 'bench', port: 0 };

  protected beforeHttpServerInit(): void {
    base(this).server.post('/message', (req: http.IncomingMessage & { body?: { user_id?: string; message?: string } }, res: http.ServerResponse) => {
      const from = String(req.body?.user_id ?? '');
      const body = String(req.body?.message ?? '');
      const reply = (status: number, payload: object) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (!from || !body) return reply(400, { error: 'invalid_request' });
      const timer = setTimeout(() => {
        pending.delete(from);
        reply(504, { error: 'no answer' });
      }, 10_000);
      pending.set(from, {
        resolve: (answer) => {
          clearTimeout(timer);
          pending.delete(from);
          reply(200, { replies: [{ text: answer }] });
        },
      });
      base(this).emit('message', { from, body, name: from });
    });
  }

  protected afterHttpServerInit(): void {
    // BuilderBot calls this before polka listens: wait for the socket.
    const announce = () => {
      const server = base(this).server.server;
      if (!server?.listening) return void setTimeout(announce, 20);
      console.log(`builderbot peer ready at port ${(server.address() as AddressInfo).port}`);
    };
    announce();
  }

  protected busEvents(): { event: string; func: (...args: unknown[]) => void }[] {
    return [];
  }

  protected async initVendor(): Promise<unknown> {
    return { on: () => undefined };
  }

  async sendMessage(userId: string, message: string): Promise<unknown> {
    // The answer is handed to the waiting request once it is saved in the history.
    const p = pending.get(userId);
    if (p) p.answer = message;
    return { userId, message };
  }

  async saveFile(): Promise<string> {
    return '';
  }
}

interface DebtorRow {
  id: number;
  saldo_total: number;
  oferta_1: number;
  hasta_3_cuotas: number;
  hasta_6_cuotas: number;
  phone: string;
}

const steps: Record<'cedula' | 'digits' | 'plan' | 'confirm', Step> = {
  async cedula(ctx, { state, fallBack }) {
    const { rows } = await business.query<DebtorRow>('select id, saldo_total, oferta_1, hasta_3_cuotas, hasta_6_cuotas, phone from debtors where cedula = $1', [ctx.body.trim()]);
    if (!rows[0]) return fallBack('No encontramos esa cédula. Escríbala de nuevo, solo los números.');
    await state.update({ debtor: rows[0] });
  },
  async digits(ctx, { state, fallBack }) {
    const d = state.get('debtor') as DebtorRow;
    if (!d.phone.endsWith(ctx.body.trim())) return fallBack('Esos dígitos no coinciden. Inténtelo de nuevo.');
  },
  async plan(ctx, { state, fallBack }) {
    const plan = Number(ctx.body.trim());
    if (![1, 2, 3].includes(plan)) return fallBack('Escriba 1, 2 o 3.');
    await state.update({ plan });
  },
  async confirm(_ctx, { state, endFlow }) {
    const d = state.get('debtor') as DebtorRow;
    const plan = state.get('plan') as number;
    const total = plan === 1 ? d.oferta_1 : plan === 2 ? d.hasta_3_cuotas : d.hasta_6_cuotas;
    await business.query('insert into agreements (debtor_id, plan, total, created_at) values ($1, $2, $3, now())', [d.id, plan, total]);
    return endFlow(`Acuerdo registrado por $${Number(total).toLocaleString('es-CO')}. ¡Gracias!`);
  },
};

const negotiation = addKeyword(['hola'])
  .addAnswer(PROMPTS.cedula, { capture: true }, steps.cedula as never)
  .addAnswer(PROMPTS.digits, { capture: true }, steps.digits as never)
  .addAnswer(PROMPTS.offer, { capture: true })
  .addAnswer(PROMPTS.plans, { capture: true }, steps.plan as never)
  .addAnswer(PROMPTS.confirm, { capture: true }, steps.confirm as never);

async function main(): Promise<void> {
  const database = new PostgresHistory({ connectionString: url }, afterSave);
  await database.ready;
  const provider = new HttpProvider();
  const bot = await createBot({ flow: createFlow([negotiation]), provider, database });
  bot.httpServer(0);
  const stop = async () => {
    await base(provider).stop().catch(() => undefined);
    await database.close();
    await business.end();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
