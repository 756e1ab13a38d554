import assert from 'node:assert/strict';
import { chunkText, trimPassage } from '../../src/knowledge/index.js';

describe('chunks and passages', function () {
  it('chunks by headings and paragraphs, PDF-style single lines included, never across sections', () => {
    const pdfLike = 'Sedes\nSede Pereira\nLa sede queda en la Carrera 8 # 20-15,\nedificio Lucitania.\nAtiende de 8 a. m. a 4 p. m.\nSede Manizales\nQueda en la Calle 23 # 21-41.';
    assert.deepEqual(chunkText(pdfLike), [
      { heading: 'Sede Pereira', text: 'La sede queda en la Carrera 8 # 20-15, edificio Lucitania.\n\nAtiende de 8 a. m. a 4 p. m.' },
      { heading: 'Sede Manizales', text: 'Queda en la Calle 23 # 21-41.' },
    ]);
    const long = `# Glosario\n\n${Array.from({ length: 12 }, (_, i) => `Término ${i}: una definición bastante larga para llenar el fragmento número ${i}.`).join('\n\n')}`;
    const chunks = chunkText(long);
    assert.ok(chunks.length >= 2 && chunks.every((c) => c.heading === 'Glosario' && c.text.length <= 520), JSON.stringify(chunks.map((c) => c.text.length)));
    assert.equal(chunks.map((c) => c.text).join('\n\n').split('\n\n').length, 12, 'paragraphs kept whole');
  });

  it('trims a passage to the sentences that answer the question', () => {
    const offices =
      'Oficina principal en Bogotá: Calle 72 # 10-34, piso 5. Atención presencial con turno, sin cita previa.\n\nOficina en Medellín: Carrera 43A # 1-50, El Poblado.\n\nOficina en Cali: Avenida 6N # 23-45.';
    assert.equal(trimPassage(offices, '¿Dónde queda la oficina de Medellín?'), 'Oficina en Medellín: Carrera 43A # 1-50, El Poblado.');
    const hours = 'Los asesores atienden de lunes a viernes de 7 a. m. a 7 p. m. y los sábados de 8 a. m. a 3 p. m. No atendemos domingos ni días festivos.';
    assert.equal(trimPassage(hours, '¿Atienden los sábados?'), 'Los asesores atienden de lunes a viernes de 7 a. m. a 7 p. m. y los sábados de 8 a. m. a 3 p. m.');
    assert.equal(trimPassage('Texto sin relación alguna.', '¿Dónde pago?'), 'Texto sin relación alguna.');
  });
});
