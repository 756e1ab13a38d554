import assert from 'node:assert/strict';
import { buildSchedule, installmentStatus, nextBusinessDay, paymentInstructions, parseBankDate, parsePaymentsCsv, noticeContent } from '../../src/agreements/index.js';
import { checkPoliciesText } from '../../src/flows/index.js';
import { isBusinessDay } from '../../src/core/index.js';
import { createLogger } from '../../src/log.js';

describe('agreement schedule', () => {
  it('sums to the total to the peso, the last installment taking the rounding', () => {
    const s = buildSchedule({ total: 111110, installments: 3, installmentAmount: 37037, firstDueDate: '2026-11-30' });
    assert.deepEqual(s.map((i) => i.amount), [37037, 37037, 37036]);
    for (const [total, n] of [[1_000_001, 6], [999_999, 12], [7, 3], [10, 6], [123_456, 1]] as const) {
      const plan = buildSchedule({ total, installments: n, installmentAmount: Math.ceil(total / n), firstDueDate: '2026-12-01' });
      assert.equal(plan.reduce((a, i) => a + i.amount, 0), total, `${total} in ${n}`);
      assert.ok(plan.every((i) => i.amount > 0));
      assert.equal(plan.length, n);
    }
  });

  it('falls on business days: weekends and Colombian holidays (Ley Emiliani) move to the next one', () => {
    // 8 Dec 2026 is la Inmaculada Concepción; 11 Jan 2027 is Reyes Magos moved to Monday.
    assert.equal(nextBusinessDay('2026-12-08'), '2026-12-09');
    assert.equal(nextBusinessDay('2027-01-09'), '2027-01-12');
    const s = buildSchedule({ total: 300000, installments: 4, installmentAmount: 75000, firstDueDate: '2026-10-08' });
    assert.deepEqual(s.map((i) => i.dueDate), ['2026-10-08', '2026-11-09', '2026-12-09', '2027-01-08']);
    assert.ok(s.every((i) => isBusinessDay(i.dueDate)));
    // Month ends are clamped: 31 January → 28 February.
    assert.equal(buildSchedule({ total: 2, installments: 2, installmentAmount: 1, firstDueDate: '2027-01-29' })[1]?.dueDate, '2027-03-01');
  });

  it('derives an installment’s status from what was paid and the date', () => {
    const i = { amount: 1000, dueDate: '2026-12-10' };
    assert.equal(installmentStatus({ ...i, paidAmount: 0 }, '2026-12-01'), 'pendiente');
    assert.equal(installmentStatus({ ...i, paidAmount: 400 }, '2026-12-01'), 'parcial');
    assert.equal(installmentStatus({ ...i, paidAmount: 400 }, '2026-12-11'), 'vencida');
    assert.equal(installmentStatus({ ...i, paidAmount: 1000 }, '2026-12-11'), 'pagada');
  });
});

describe('how to pay per portfolio', () => {
  const yaml = `default:
  payment_channels:
    - type: convenio
      bank: Bancolombia
      convenio: "84512"
    - type: pse
    - type: efecty
      convenio: "110342"
      quote: cedula
    - type: nequi
      number: "3001234567"
portfolios:
  Tarjetas:
    payment_channels:
      - type: cuenta
        bank: Banco de Bogotá
        account_type: ahorros
        account: "123-45678-9"
        holder: Cobranzas Andinas S.A.S.
        nit: 900.123.456-7
`;

  it('renders the portfolio’s channels with the reference, the amount due and the payment link', () => {
    const { policies, problems } = checkPoliciesText(yaml, 'policies.yaml');
    assert.deepEqual(problems, []);
    const text = paymentInstructions(policies!.defaultPolicy, { reference: 'AC-7QK2M9', amountDue: 37037, dueDate: '2026-11-30', paymentLink: 'https://bot.example.com/pagar/AC-7QK2M9?exp=1&sig=x' });
    assert.match(text, /^Puede pagar en línea \(PSE, tarjeta o Efecty\) aquí: https:\/\/bot\.example\.com\/pagar\/AC-7QK2M9/);
    assert.match(text, /• Consignación en Bancolombia, convenio 84512, con la referencia AC-7QK2M9\./);
    assert.match(text, /• PSE, desde el portal de su banco\./);
    assert.match(text, /• En efectivo en cualquier punto Efecty, convenio 110342, con su número de cédula como referencia\./);
    assert.match(text, /• Nequi, al número 3001234567, con la referencia AC-7QK2M9 en el mensaje\./);
    assert.match(text, /Su próximo pago es de \$37\.037, a más tardar el lunes 30 de noviembre de 2026\./);
    const tarjetas = paymentInstructions(policies!.forPortfolio('Tarjetas'), { reference: 'AC-7QK2M9' });
    assert.match(tarjetas, /cuenta de ahorros Banco de Bogotá n\.º 123-45678-9, a nombre de Cobranzas Andinas S\.A\.S\. \(NIT 900\.123\.456-7\); indique la referencia AC-7QK2M9/);
    // Without channels the portfolio's text stands.
    const plain = checkPoliciesText('default:\n  payment_instructions: "Pague en la oficina."\n', 'p.yaml').policies!.defaultPolicy;
    assert.equal(paymentInstructions(plain, { reference: 'AC-7QK2M9' }), 'Pague en la oficina. Use como referencia de pago AC-7QK2M9.');
  });

  it('points a wrong payment channel at file:line:column', () => {
    const bad = `default:\n  payment_channels:\n    - type: nequi\n      number: "12345"\n    - type: paypal\n  reminder_days_before: -1\n`;
    const { problems } = checkPoliciesText(bad, 'flows/policies.yaml');
    const text = problems.map((p) => p.message).join('\n');
    assert.match(text, /flows\/policies\.yaml:4:\d+: .*10-digit mobile/);
    assert.match(text, /flows\/policies\.yaml:5:\d+: .*expected a type: convenio, cuenta, pse, efecty, corresponsal, nequi, daviplata/);
    assert.match(text, /flows\/policies\.yaml:6:\d+:/);
  });

  it('follow-ups ask what happened and offer to reprogram; never why, never a threat', () => {
    const { text } = noticeContent('seguimiento', { name: 'CARLOS FAJARDO', reference: 'AC-7QK2M9', installment: 2, installments: 3, amount: 37037, dueDate: '2026-12-30' });
    assert.match(text, /^Hola, Carlos\. La cuota 2 de 3 de su acuerdo AC-7QK2M9, que vencía el miércoles 30 de diciembre de 2026, aparece pendiente por \$37\.037\./);
    assert.match(text, /¿Sucedió algo con el pago\?/);
    assert.match(text, /reprogramar/);
    assert.doesNotMatch(text, /por ?qu[eé]|reportar|centrales|datacr[eé]dito|embargo|jur[ií]dic|demanda|consecuencia/i);
  });
});

describe('the bank’s payment report', () => {
  it('reads Colombian amounts and dates, comma or semicolon, UTF-8 or Latin-1', () => {
    const latin = Buffer.from('Cédula;Valor;Fecha;Medio\r\n93.388.915;$1.500.000;05/01/2027;Efecty\r\n52123456;1500000,00;2027-01-06;\r\n', 'latin1');
    const parsed = parsePaymentsCsv(latin);
    assert.equal(parsed.encoding, 'latin1');
    assert.equal(parsed.delimiter, ';');
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.rows.map((r) => [r.line, r.cedula, r.amount, r.paidOn, r.method]), [
      [2, '93388915', 1_500_000, '2027-01-05', 'Efecty'],
      [3, '52123456', 1_500_000, '2027-01-06', null],
    ]);
    const bad = parsePaymentsCsv(Buffer.from('Referencia,Valor,Fecha\nAC-7QK2M9,"$37.037",31/02/2027\n,100,01/01/2027\nAC-7QK2M9,cien,01/01/2027\n'));
    assert.deepEqual(bad.problems.map((p) => p.line), [2, 3, 4]);
    assert.match(bad.problems[0]!.reason, /Fecha "31\/02\/2027" is not a date/);
    assert.match(bad.problems[1]!.reason, /neither Cedula nor Referencia/);
    assert.match(bad.problems[2]!.reason, /Valor "cien" is not an amount/);
    assert.equal(parseBankDate('1/2/2027'), '2027-02-01');
  });
});

describe('the paz y salvo as a Telegram document', () => {
  it('sends the text, then the PDF by its URL', async () => {
    const { TelegramOutbound } = await import('../../channels/telegram/outbound.js');
    const { SendScheduler } = await import('../../channels/telegram/send-scheduler.js');
    const calls: [string, ...unknown[]][] = [];
    let id = 100;
    const telegram = {
      sendMessage: async (chat: string, text: string) => (calls.push(['sendMessage', chat, text]), { message_id: ++id }),
      sendDocument: async (chat: string, file: unknown) => (calls.push(['sendDocument', chat, file]), { message_id: ++id }),
    };
    const outbound = new TelegramOutbound({
      telegram: telegram as never,
      scheduler: new SendScheduler({ perSecond: 1000, perChatIntervalMs: 0 }),
      log: createLogger({ level: 'silent', pretty: false }),
    });
    const result = await outbound.send('5281907331', [{ text: '¡Felicitaciones!', document: { url: 'https://bot.example.com/paz-y-salvo/PYS-AAAA-BBBB.pdf?exp=1&sig=x', filename: 'paz-y-salvo-PYS-AAAA-BBBB.pdf' } }]);
    assert.deepEqual(calls, [
      ['sendMessage', '5281907331', '¡Felicitaciones!'],
      ['sendDocument', '5281907331', { url: 'https://bot.example.com/paz-y-salvo/PYS-AAAA-BBBB.pdf?exp=1&sig=x', filename: 'paz-y-salvo-PYS-AAAA-BBBB.pdf' }],
    ]);
    assert.deepEqual(result, { externalId: '102', externalIds: ['101', '102'] });
  });
});
