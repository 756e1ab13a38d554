/**
 * Small documents made on the fly: a PDF (pdf-lib), a DOCX (docx) and a TXT, each about
 * something the others are not, so an answer's source tells which file it came from.
 */
import { Document, HeadingLevel, Packer, Paragraph } from 'docx';
import { PDFDocument, StandardFonts } from 'pdf-lib';

/** The PDF: the Pereira office. */
export async function pdfFixture(): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  pdf.setTitle('Sedes regionales');
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  const page = pdf.addPage([595, 842]);
  let y = 790;
  const line = (text: string, f = font, size = 11) => {
    page.drawText(text, { x: 50, y, size, font: f });
    y -= size + 6;
  };
  line('Sedes regionales', bold, 16);
  y -= 14;
  line('Sede Pereira', bold, 13);
  y -= 8;
  line('La sede de Pereira queda en la Carrera 8 # 20-15, edificio Lucitania, oficina 301.');
  line('Atiende con turno de lunes a viernes de 8 a. m. a 4 p. m.');
  y -= 14;
  line('Sede Manizales', bold, 13);
  y -= 8;
  line('La sede de Manizales queda en la Calle 23 # 21-41, centro comercial Cable Plaza.');
  return Buffer.from(await pdf.save());
}

/** The DOCX: the debt certificate. */
export async function docxFixture(): Promise<Buffer> {
  const doc = new Document({
    sections: [
      {
        children: [
          new Paragraph({ text: 'Certificados', heading: HeadingLevel.HEADING_1 }),
          new Paragraph({ text: 'Certificado de retiro de reporte interno', heading: HeadingLevel.HEADING_2 }),
          new Paragraph('El certificado de retiro de reporte interno se solicita con el formulario F-27 y una copia de la cédula ampliada al 150 %.'),
          new Paragraph('Se entrega en diez días hábiles por correo certificado.'),
          new Paragraph({ text: 'Carta de saldo para notaría', heading: HeadingLevel.HEADING_2 }),
          new Paragraph('La carta de saldo para trámites de notaría cuesta quince mil pesos y se reclama en ventanilla.'),
        ],
      },
    ],
  });
  return Packer.toBuffer(doc);
}

/** The TXT: what the word "subrogación" means. */
export function txtFixture(): Buffer {
  return Buffer.from(
    [
      'GLOSARIO BREVE',
      '',
      'Subrogación',
      '',
      'La subrogación es cuando un fiador o un tercero paga la deuda y pasa a ocupar el lugar del acreedor original.',
      '',
      'Cesión de cartera',
      '',
      'La cesión de cartera es la venta de obligaciones de una entidad a otra, que desde entonces cobra.',
    ].join('\n'),
    'utf8',
  );
}
