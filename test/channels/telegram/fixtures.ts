import fs from 'node:fs';
import path from 'node:path';

const dir = path.join(__dirname, '..', '..', 'fixtures', 'telegram');

/** A recorded-shape Telegram Update from test/fixtures/telegram, fresh on every call. */
export function update(name: string): Record<string, unknown> & { update_id: number } {
  return JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as Record<string, unknown> & { update_id: number };
}
