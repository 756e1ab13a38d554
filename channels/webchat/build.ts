import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';

/**
 * Builds the widget bundle (widget/index.ts → one minified IIFE) with esbuild.
 *
 * The service builds it in memory when it starts, so `npm start` and `npm test` work
 * from a fresh clone and never serve a stale file. `npm run build:widget` writes the
 * same bundle to dist/widget.js, which the service serves when esbuild (a dev
 * dependency) is not installed, e.g. after `npm ci --omit=dev`.
 */

export const WIDGET_ENTRY = path.join(__dirname, 'widget', 'index.ts');
export const PREBUILT_WIDGET = path.resolve(__dirname, '..', '..', 'dist', 'widget.js');
/** The budget the issue sets for the gzipped bundle. */
export const WIDGET_GZIP_BUDGET = 30 * 1024;

export interface WidgetBundle {
  code: string;
  gzip: Buffer;
  /** Where it came from: built now from the source, or the prebuilt file. */
  source: 'esbuild' | 'prebuilt';
}

function bundle(code: string, source: WidgetBundle['source']): WidgetBundle {
  return { code, gzip: zlib.gzipSync(code, { level: 9 }), source };
}

export async function buildWidget(): Promise<WidgetBundle> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [WIDGET_ENTRY],
    bundle: true,
    write: false,
    minify: true,
    format: 'iife',
    target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no widget bundle');
  return bundle(file.text, 'esbuild');
}

/** The bundle from the source when esbuild is installed, else the prebuilt dist/widget.js. */
export async function loadWidget(): Promise<WidgetBundle> {
  try {
    return await buildWidget();
  } catch (err) {
    const missing = (err as { code?: string }).code === 'MODULE_NOT_FOUND' || (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
    if (!missing) throw err;
    try {
      return bundle(await fs.readFile(PREBUILT_WIDGET, 'utf8'), 'prebuilt');
    } catch {
      throw new Error(`esbuild is not installed and ${PREBUILT_WIDGET} does not exist: run "npm run build:widget" where dev dependencies are installed`, { cause: err });
    }
  }
}

/** `npm run build:widget`: writes dist/widget.js and reports its size against the budget. */
async function main(): Promise<void> {
  const widget = await buildWidget();
  await fs.mkdir(path.dirname(PREBUILT_WIDGET), { recursive: true });
  await fs.writeFile(PREBUILT_WIDGET, widget.code);
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  process.stdout.write(`${path.relative(process.cwd(), PREBUILT_WIDGET)}: ${kb(Buffer.byteLength(widget.code))}, ${kb(widget.gzip.length)} gzipped (budget ${kb(WIDGET_GZIP_BUDGET)})\n`);
  if (widget.gzip.length > WIDGET_GZIP_BUDGET) {
    process.stderr.write('the widget is over its size budget\n');
    process.exit(1);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
