/**
 * Text out of an uploaded file: PDF (pdf-parse, on Mozilla's pdf.js), DOCX (mammoth,
 * headings kept as Markdown "#" lines), TXT and Markdown as UTF-8. A file that cannot be
 * read is a DocumentReadError naming the file and the reason; nothing is stored for it.
 * The two libraries are loaded on first use: every CLI command and the service's start
 * would otherwise pay for pdf.js.
 */
import path from 'node:path';
import { AcuerdoError } from '../core/index.js';

export const DOCUMENT_TYPES = ['pdf', 'txt', 'docx', 'md'] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

/** The largest file accepted (bytes): agency guides are a few pages. */
export const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

/** A file that cannot become a document: `fileName` and `reason` say which and why. */
export class DocumentReadError extends AcuerdoError {
  override name = 'DocumentReadError';
  constructor(
    readonly fileName: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${fileName}: ${reason}`, options);
  }
}

/** The type a file name says it is, or undefined for one we do not read. */
export function documentTypeOf(fileName: string): DocumentType | undefined {
  const ext = path.extname(fileName).toLowerCase().replace('.', '');
  if (ext === 'markdown') return 'md';
  if (ext === 'text') return 'txt';
  return (DOCUMENT_TYPES as readonly string[]).includes(ext) ? (ext as DocumentType) : undefined;
}

function decodeUtf8(fileName: string, data: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(data).replace(/^\uFEFF/, '');
  } catch (err) {
    throw new DocumentReadError(fileName, 'the text is not valid UTF-8 (save it as UTF-8 and upload it again)', { cause: err });
  }
}

/** mammoth's HTML (well-formed, a handful of tags) as Markdown-ish text: headings "#", paragraphs apart. */
function htmlToText(html: string): string {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", nbsp: ' ' };
  return html
    .replace(/<h([1-6])[^>]*>/g, (_m, level: string) => `\n\n${'#'.repeat(Number(level))} `)
    .replace(/<\/h[1-6]>/g, '\n\n')
    .replace(/<li[^>]*>/g, '\n- ')
    .replace(/<\/(p|li|tr|table|ul|ol)>/g, '\n\n')
    .replace(/<br\s*\/?>/g, '\n')
    .replace(/<\/td>/g, ' | ')
    .replace(/<[^>]+>/g, '')
    .replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_m, name: string) => entities[name] ?? '');
}

async function pdfText(fileName: string, data: Buffer): Promise<string> {
  if (!data.subarray(0, 1024).includes('%PDF-')) throw new DocumentReadError(fileName, 'not a PDF file (no %PDF header)');
  const { PDFParse } = await import('pdf-parse');
  const parser = new PDFParse({ data: new Uint8Array(data) });
  try {
    const result = await parser.getText({ pageJoiner: '' });
    return result.text;
  } catch (err) {
    throw new DocumentReadError(fileName, `the PDF cannot be read (${(err as Error).message})`, { cause: err });
  } finally {
    await parser.destroy().catch(() => undefined);
  }
}

async function docxText(fileName: string, data: Buffer): Promise<string> {
  // A DOCX is a ZIP archive: "PK" first.
  if (data[0] !== 0x50 || data[1] !== 0x4b) throw new DocumentReadError(fileName, 'not a DOCX file (it is not a ZIP archive)');
  const { default: mammoth } = await import('mammoth');
  try {
    const { value } = await mammoth.convertToHtml({ buffer: data });
    return htmlToText(value);
  } catch (err) {
    throw new DocumentReadError(fileName, `the DOCX cannot be read (${(err as Error).message})`, { cause: err });
  }
}

/** The file's text, normalized (Unicode NFC, LF line ends, no control characters). */
export async function extractText(fileName: string, data: Buffer): Promise<{ type: DocumentType; text: string }> {
  const type = documentTypeOf(fileName);
  if (!type) throw new DocumentReadError(fileName, `unsupported file type (use ${DOCUMENT_TYPES.map((t) => `.${t}`).join(', ')})`);
  if (data.length === 0) throw new DocumentReadError(fileName, 'the file is empty');
  if (data.length > MAX_DOCUMENT_BYTES) throw new DocumentReadError(fileName, `the file is larger than ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB`);
  const raw = type === 'pdf' ? await pdfText(fileName, data) : type === 'docx' ? await docxText(fileName, data) : decodeUtf8(fileName, data);
  const text = raw
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    // Control characters (NUL among them, which PostgreSQL text cannot hold), tabs and line ends kept.
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, '')
    .replace(/[ \t]+\n/g, '\n')
    .trim();
  if (!/\p{L}{2,}/u.test(text)) throw new DocumentReadError(fileName, 'no text found in the file (a scanned PDF needs OCR first)');
  return { type, text };
}
