import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ACTIONS,
  checkFlowText,
  checkPoliciesText,
  flowToMermaid,
  formatDate,
  formatMoney,
  loadFlowCatalog,
  parseCondition,
  parseFlow,
  parseTemplate,
  renderTemplate,
} from '../../src/flows/index.js';

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');

/** A small valid flow; tests break one thing at a time. */
const VALID = `flow: prueba
start: inicio
fallback:
  say: "No le entendí"
  goto: asesor
globals:
  - intent: solicitar_asesor
    goto: asesor
states:
  inicio:
    say: "Hola, ¿me regala su cédula?"
    on:
      - entity: cedula
        goto: buscar
  buscar:
    action: find_debtor
    next:
      - outcome: found
        goto: deuda
      - goto: inicio
  deuda:
    say: "{{nombre}}, su saldo es {{saldo_total}}"
    buttons:
      - id: pagar
        text: Pagar
        goto: fin
  fin:
    say: "Gracias"
    end: true
  asesor:
    action: handoff
    say: "Le paso con un asesor"
`;

function problems(text: string): string[] {
  return checkFlowText(text, 'prueba.yaml').problems.map((p) => p.message);
}

describe('flow files', () => {
  it('load when valid', () => {
    const flow = parseFlow(VALID, 'prueba.yaml');
    assert.equal(flow.name, 'prueba');
    assert.equal(flow.start, 'inicio');
    assert.deepEqual([...flow.states.keys()], ['inicio', 'buscar', 'deuda', 'fin', 'asesor']);
  });

  it('ship valid: flows/negociacion.yaml and flows/policies.yaml', () => {
    const { flows, policies } = loadFlowCatalog();
    const flow = flows.get('negociacion');
    assert.ok(flow);
    for (const s of ['inicial', 'validar_documento', 'informar_deuda', 'proponer_planes_pago', 'generar_acuerdo', 'finalizar_conversacion', 'cliente_no_encontrado', 'gestionar_objecion', 'transferir_asesor', 'no_contactar']) {
      assert.ok(flow.states.has(s), `the seed's state ${s}`);
    }
    assert.equal(policies.defaultPolicy.maxInstallments, 12);
    assert.equal(policies.forPortfolio('Demo Castigada').maxInstallments, 24);
  });

  it('report an unknown target state at its line and column, with a suggestion', () => {
    assert.deepEqual(problems(VALID.replace('goto: buscar', 'goto: buscr')), [
      "prueba.yaml:14:15: unknown target state 'buscr' (did you mean 'buscar'?)",
      "prueba.yaml:15:3: unreachable state 'buscar': no rule leads to it",
      "prueba.yaml:21:3: unreachable state 'deuda': no rule leads to it",
      "prueba.yaml:27:3: unreachable state 'fin': no rule leads to it",
    ]);
  });

  it('report an unreachable state', () => {
    const text = VALID + '  huerfano:\n    say: "nadie llega aquí"\n    end: true\n';
    assert.deepEqual(problems(text), ["prueba.yaml:33:3: unreachable state 'huerfano': no rule leads to it"]);
  });

  it('refuse debt details where a matched but unverified cédula leads (Ley 2300 art. 4)', () => {
    const unverified = VALID.replace(
      `      - outcome: found
        goto: deuda
      - goto: inicio`,
      `      - outcome: found
        goto: deuda
      - outcome: verify
        goto: preguntar
      - goto: inicio
  preguntar:
    say: "Gracias, {{nombre}}. ¿Los últimos 4 dígitos de su celular?"
    on:
      - goto: comprobar
  comprobar:
    action: check_identity
    next:
      - outcome: found
        goto: deuda
      - goto: preguntar`,
    );
    const found = problems(unverified);
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0] ?? '', /'\{\{nombre\}\}' shows debt details in 'preguntar'/);
    // Without the name, the same flow is valid: check_identity's found is what discloses.
    assert.deepEqual(problems(unverified.replace('Gracias, {{nombre}}.', 'Gracias.')), []);
  });

  it('report an unknown action, variable and intent', () => {
    assert.deepEqual(problems(VALID.replace('action: find_debtor', 'action: buscar_deudor')), [
      `prueba.yaml:16:13: unknown action 'buscar_deudor'; known: ${Object.keys(ACTIONS).join(', ')}`,
      "prueba.yaml:18:18: 'outcome: found' but state 'buscar' has no action",
      // Without the identifying action, 'deuda' is reachable by anyone.
      "prueba.yaml:22:10: '{{nombre}}' shows debt details in 'deuda', which a debtor can reach before the cédula matches (Ley 2300 art. 4); guard the message with if: identificado",
    ]);
    assert.deepEqual(problems(VALID.replace('{{saldo_total}}', '{{saldo}}')), [
      "prueba.yaml:22:35: unknown variable 'saldo' (did you mean 'saldo_total'?); declare it under variables: if it comes from elsewhere",
    ]);
    assert.deepEqual(problems(VALID.replace('intent: solicitar_asesor', 'intent: pedir_asesor')), [
      "prueba.yaml:7:13: unknown intent 'pedir_asesor'; known: saludo, despedida, identificacion, consulta_deuda, intencion_pago, solicitud_plan, confirmacion, rechazo, sin_capacidad_pago, disputa, solicitar_asesor, no_contactar, fuera_de_tema",
    ]);
  });

  it('report a missing start state, or an unknown one', () => {
    assert.deepEqual(problems(VALID.replace('start: inicio\n', '')), [
      'prueba.yaml:1:1: missing start state: add `start: <state name>` at the top of the file',
      "prueba.yaml:9:3: unreachable state 'inicio': no rule leads to it",
      "prueba.yaml:14:3: unreachable state 'buscar': no rule leads to it",
      "prueba.yaml:20:3: unreachable state 'deuda': no rule leads to it",
      "prueba.yaml:26:3: unreachable state 'fin': no rule leads to it",
    ]);
    assert.match(problems(VALID.replace('start: inicio', 'start: comienzo'))[0] ?? '', /prueba\.yaml:2:8: unknown start state 'comienzo'/);
  });

  it('report unknown keys, wrong outcomes, YAML syntax errors and bad conditions', () => {
    assert.deepEqual(problems(VALID.replace('        goto: buscar', '        gotoo: buscar')), [
      "prueba.yaml:14:9: unknown key 'gotoo' (did you mean 'goto'?)",
    ]);
    assert.match(problems(VALID.replace('outcome: found', 'outcome: encontrado'))[0] ?? '', /:18:18: action 'find_debtor' has no outcome 'encontrado'; its outcomes: found, several, verify, locked, no_data, third_party, not_found, missing/);
    assert.match(problems(VALID.replace('  inicio:\n    say:', '  inicio:\n   say:'))[0] ?? '', /^prueba\.yaml:\d+:\d+: YAML: /);
    assert.match(problems(VALID.replace('      - entity: cedula\n', '      - entity: cedula\n        if: amount = 3\n'))[0] ?? '', /condition 'amount = 3': use == to compare/);
  });

  it('refuse debt details before the cédula matches, asking why a debtor did not pay, and credit-bureau threats', () => {
    assert.match(problems(VALID.replace('"Hola, ¿me regala su cédula?"', '"Hola, su saldo es {{saldo_total}}"'))[0] ?? '', /'\{\{saldo_total\}\}' shows debt details in 'inicio'.*Ley 2300 art\. 4/);
    assert.match(problems(VALID.replace('"Gracias"', '"¿Por qué no ha pagado?"'))[0] ?? '', /never ask the debtor why they did not pay \(Ley 2300 de 2023, art\. 7\)/);
    assert.match(problems(VALID.replace('"Gracias"', '"Si no paga lo reportamos a Datacrédito"'))[0] ?? '', /credit-bureau report \(Ley 1266/);
    assert.match(problems(VALID.replace('"Gracias"', '"Será reportado en centrales de riesgo"'))[0] ?? '', /credit-bureau report \(Ley 1266/);
    assert.match(problems(VALID.replace('"Gracias"', '"Si paga hoy, sale del reporte de inmediato"'))[0] ?? '', /clears a credit-bureau report at once \(Ley 1266/);
    // Explaining the law is not a threat: the shipped flow answers questions about Datacrédito so.
    assert.deepEqual(problems(VALID.replace('"Gracias"', '"Quien reporta a Datacrédito es la entidad acreedora; la actualización sigue la Ley 1266."')), []);
    // Guarded by identificado, a message anyone can reach may use the debtor's name.
    const guarded = VALID.replace('    say: "Le paso con un asesor"', '    say:\n      - text: "{{nombre}}, le paso con un asesor"\n        if: identificado\n      - text: "Le paso con un asesor"\n        if: not identificado');
    assert.deepEqual(problems(guarded), []);
    assert.match(problems(guarded.replace('        if: identificado\n', ''))[0] ?? '', /'\{\{nombre\}\}' shows debt details in 'asesor'/);
  });

  it('refuse a button that leads nowhere and a loop of next: rules', () => {
    assert.match(problems(VALID.replace('        text: Pagar\n        goto: fin\n', '        text: Pagar\n    next: fin\n'))[0] ?? '', /button 'pagar' leads nowhere/);
    const loop = VALID.replace('      - goto: inicio\n', '      - goto: deuda\n').replace("  deuda:\n", "  deuda:\n    next: [{ if: intentos_documento > 5, goto: buscar }]\n");
    assert.ok(problems(loop).some((p) => /next: rules loop back to 'buscar'/.test(p)));
  });

  it('validate policies with positions', () => {
    const bad = checkPoliciesText('default:\n  cash_discount_pct: 120\n  max_cuotas: 3\n', 'policies.yaml').problems.map((p) => p.message);
    assert.ok(bad.some((p) => p === 'policies.yaml:2:22: expected a percentage (0-100)'));
    assert.ok(bad.some((p) => p.startsWith("policies.yaml:3:3: unknown key 'max_cuotas'")));
  });

  it('draw as Mermaid', () => {
    const mermaid = flowToMermaid(parseFlow(VALID, 'prueba.yaml'));
    assert.match(mermaid, /^flowchart TD/);
    assert.match(mermaid, /s_inicio -->\|"cedula\?"\| s_buscar/);
    assert.match(mermaid, /s_buscar -->\|"found"\| s_deuda/);
    assert.match(mermaid, /s_deuda -->\|"botón: Pagar"\| s_fin/);
    assert.match(mermaid, /global -.->\|"solicitar_asesor"\| s_asesor/);
  });
});

describe('messages and conditions', () => {
  it('write money as COP and dates in Spanish', () => {
    assert.equal(formatMoney(123456), '$123.456');
    assert.equal(formatMoney(1500000), '$1.500.000');
    assert.equal(formatMoney(950), '$950');
    assert.equal(formatDate('2026-11-28'), 'sábado 28 de noviembre de 2026');
    assert.equal(formatDate('2027-01-01'), 'viernes 1 de enero de 2027');
  });

  it('render the seed’s variables, any context value, and filters', () => {
    const t = parseTemplate('{{Nombre_del_cliente | nombre_propio}}: {{saldo_total}} con {{banco}}; oferta {{oferta_1}}, {{hasta_12_cuotas}}; el {{fecha}}; {{cuotas}} cuotas; {{monto | dinero}}');
    const text = renderTemplate(t, {
      Nombre_del_cliente: 'CARLOS FAJARDO',
      saldo_total: 123456,
      banco: 'TUYA S.A.',
      oferta_1: 98765,
      hasta_12_cuotas: 123456,
      fecha: '2026-12-15',
      cuotas: 6,
      monto: '50000',
    });
    assert.equal(text, 'Carlos Fajardo: $123.456 con TUYA S.A.; oferta $98.765, $123.456; el martes 15 de diciembre de 2026; 6 cuotas; $50.000');
  });

  it('evaluate conditions over the context', () => {
    const c = parseCondition('amount >= cuota_minima and not (intent == "rechazo" or bloqueado)');
    assert.deepEqual([...c.variables].sort(), ['amount', 'bloqueado', 'cuota_minima', 'intent']);
    assert.equal(c.evaluate({ amount: 50000, cuota_minima: 10000, intent: 'solicitud_plan' }), true);
    assert.equal(c.evaluate({ amount: 5000, cuota_minima: 10000 }), false);
    assert.equal(c.evaluate({ amount: 50000, cuota_minima: 10000, intent: 'RECHAZO' }), false);
    assert.equal(c.evaluate({ cuota_minima: 10000 }), false, 'an unset value never compares true');
    assert.equal(parseCondition("fecha <= '2026-12-23'").evaluate({ fecha: '2026-12-15' }), true);
  });
});

describe('acuerdo flows (CLI)', function () {
  this.timeout(60_000);

  it('validate prints each problem as file:line:column and exits non-zero', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'acuerdo-flows-'));
    const bad = path.join(dir, 'malo.yaml');
    await fs.writeFile(bad, VALID.replace('goto: buscar', 'goto: buscr'));
    try {
      const err = (await run(process.execPath, [path.join(root, 'src/cli/bin.cjs'), 'flows', 'validate', bad], { cwd: root }).then(
        () => assert.fail('expected a non-zero exit'),
        (e: unknown) => e,
      )) as { code: number; stdout: string };
      assert.equal(err.code, 1);
      assert.match(err.stdout, /malo\.yaml:14:15: unknown target state 'buscr'/);
      const ok = await run(process.execPath, [path.join(root, 'src/cli/bin.cjs'), 'flows', 'validate'], { cwd: root });
      assert.match(ok.stdout, /✔ flows\/negociacion\.yaml/);
      const graph = await run(process.execPath, [path.join(root, 'src/cli/bin.cjs'), 'flows', 'graph'], { cwd: root });
      assert.match(graph.stdout, /^flowchart TD/);
      assert.match(graph.stdout, /s_validar_documento -->\|"found"\| s_informar_deuda/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
