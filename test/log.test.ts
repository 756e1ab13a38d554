import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, maskPersonalData } from '../src/log.js';

describe('logging', () => {
  it('masks cédulas and phone numbers in every field of every line', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ pretty: false, destination, level: 'info' });
    logger.info({ user: '+57 300 123 4567', nested: { text: 'mi cedula es 93.388.915' } }, 'turn for cc 1023456789');
    const line = lines.join('');
    assert.doesNotMatch(line, /93\.388\.915|1023456789|300 123 4567|93388915/);
    assert.match(line, /\*+15/);
    assert.match(line, /\*+89/);
    const parsed = JSON.parse(line) as { time: string };
    assert.match(parsed.time, /^\d{4}-\d{2}-\d{2}T/);
  });

  it('leaves ids, addresses and times readable', () => {
    const text = 'conv 3f1e2d4c-1234-4567-8901-123456789012 at 127.0.0.1:54329 2026-11-21T11:01:54.746Z took 1468 ms';
    assert.equal(maskPersonalData(text), text);
  });

  it('masks the written forms of cédulas and phones', () => {
    for (const t of ['93388915', '93.388.915', "1'023.456.789", '1,023,456,789', '3001234567', '+573001234567', '601 234 5678']) {
      assert.doesNotMatch(maskPersonalData(`x ${t} y`), /\d{3}/, t);
    }
  });
});
