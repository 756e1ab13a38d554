/**
 * The paz y salvo: a one-page PDF (pdf-lib, standard Helvetica, WinAnsi covers Spanish)
 * stating that the obligation is settled — agency, creditor, holder's name and masked
 * cédula, obligation, total paid, dates and the verification code anyone can check at
 * /verificar/CODE. It promises nothing about credit bureaus (Ley 1266: the creditor
 * updates the report; a negative record may stay for a while).
 */
import { PDFDocument, StandardFonts, rgb } from 'pdf-lib';
import { formatDate, formatMoney, titleCase } from '../flows/index.js';
import type { Knex } from '../store/index.js';
import { bogotaDate } from '../core/index.js';

export interface CertificateData {
  code: string;
  agency: string;
  creditor: string;
  holderName: string;
  cedulaMasked: string;
  reference: string;
  portfolio: string;
  agreementDate: string;
  totalPaid: number;
  lastPaymentDate: string | null;
  issuedOn: string;
  verifyUrl: string;
  revoked: boolean;
}

export async function loadCertificate(db: Knex, code: string, o: { agency: string; publicUrl: string }): Promise<CertificateData | undefined> {
  const row = (await db('paz_y_salvo as c')
    .join('agreements as a', 'a.id', 'c.agreement_id')
    .join('debtors as d', 'd.id', 'a.debtor_id')
    .join('portfolios as p', 'p.id', 'a.portfolio_id')
    .where('c.code', code.trim().toUpperCase())
    .first('c.code', 'c.holder_name', 'c.cedula_masked', 'c.total_paid', 'c.issued_at', 'c.revoked_at', 'a.id as agreement_id', 'a.reference', 'a.created_at', 'd.banco', 'p.name as portfolio')) as
    | {
        code: string;
        holder_name: string;
        cedula_masked: string;
        total_paid: number;
        issued_at: Date;
        revoked_at: Date | null;
        agreement_id: number;
        reference: string;
        created_at: Date;
        banco: string;
        portfolio: string;
      }
    | undefined;
  if (!row) return undefined;
  const last = (await db('payments').where({ agreement_id: row.agreement_id, status: 'applied' }).max({ d: 'paid_on' }).first()) as { d: string | null } | undefined;
  return {
    code: row.code,
    agency: o.agency,
    creditor: row.banco,
    holderName: titleCase(row.holder_name),
    cedulaMasked: row.cedula_masked,
    reference: row.reference,
    portfolio: row.portfolio,
    agreementDate: bogotaDate(row.created_at),
    totalPaid: Number(row.total_paid),
    lastPaymentDate: last?.d ? String(last.d).slice(0, 10) : null,
    issuedOn: bogotaDate(row.issued_at),
    verifyUrl: `${o.publicUrl.replace(/\/+$/, '')}/verificar/${row.code}`,
    revoked: row.revoked_at !== null,
  };
}

/** The certificate as PDF bytes. */
export async function renderCertificatePdf(c: CertificateData): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  pdf.setTitle(`Paz y salvo ${c.code}`);
  pdf.setAuthor(c.agency);
  pdf.setSubject(`Paz y salvo del acuerdo ${c.reference}`);
  // Fixed dates keep the file reproducible; the issue date is in the text.
  const issued = new Date(`${c.issuedOn}T12:00:00-05:00`);
  pdf.setCreationDate(issued);
  pdf.setModificationDate(issued);
  const page = pdf.addPage([595, 842]); // A4
  const regular = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  const ink = rgb(0.1, 0.12, 0.16);
  let y = 770;
  const line = (text: string, size = 11, font = regular, gap = 18) => {
    page.drawText(text, { x: 60, y, size, font, color: ink });
    y -= gap;
  };
  /** A paragraph wrapped to the page's width (475 points between the margins). */
  const paragraph = (text: string, size = 11, font = regular, gap = 17) => {
    let current = '';
    for (const word of text.split(/\s+/)) {
      const candidate = current ? `${current} ${word}` : word;
      if (current && font.widthOfTextAtSize(candidate, size) > 475) {
        line(current, size, font, gap);
        current = word;
      } else current = candidate;
    }
    if (current) line(current, size, font, gap);
  };
  line(c.agency, 13, bold, 22);
  paragraph(`En representación de ${c.creditor}`, 10, regular, 14);
  y -= 26;
  line('PAZ Y SALVO', 22, bold, 36);
  paragraph(
    `Certificamos que ${c.holderName}, identificado(a) con cédula de ciudadanía ${c.cedulaMasked}, pagó en su totalidad el acuerdo de pago ${c.reference} ` +
      `de la obligación con ${c.creditor} (cartera ${c.portfolio}), y se encuentra a paz y salvo por este concepto.`,
  );
  y -= 14;
  line(`Total pagado: ${formatMoney(c.totalPaid)}`, 11, bold);
  line(`Fecha del acuerdo: ${formatDate(c.agreementDate)}`);
  if (c.lastPaymentDate) line(`Fecha del último pago: ${formatDate(c.lastPaymentDate)}`);
  line(`Fecha de expedición: ${formatDate(c.issuedOn)}`);
  y -= 14;
  line(`Código de verificación: ${c.code}`, 12, bold);
  line(`Verifique este documento en ${c.verifyUrl}`, 10);
  y -= 20;
  paragraph('La actualización de la información ante las centrales de riesgo la realiza la entidad acreedora de acuerdo con la Ley 1266 de 2008 y sus modificaciones.', 9, regular, 13);
  return pdf.save({ useObjectStreams: false });
}
