import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { readJsonLines } from '../src/index.js';

describe('readJsonLines', () => {
  it('hands over one value a line, in order, across chunk boundaries and CRLF, and skips a malformed line', async () => {
    const input = new PassThrough();
    const values: unknown[] = [];
    const malformed: string[] = [];
    const stop = readJsonLines(
      input,
      (value) => values.push(value),
      (line) => malformed.push(line),
    );
    input.write('{"id":1,"cmd":"a"}\n{"id":2,');
    input.write('"cmd":"b"}\r\n\n  \nnot json\n');
    input.end('{"id":3,"cmd":"c"}');
    await once(input, 'end');
    // readline emits the last line on 'close', after the stream's end.
    await new Promise((resolve) => setImmediate(resolve));
    expect(values).toEqual([
      { id: 1, cmd: 'a' },
      { id: 2, cmd: 'b' },
      { id: 3, cmd: 'c' },
    ]);
    expect(malformed).toEqual(['not json']);
    stop();
  });

  it('reads nothing more once stopped', async () => {
    const input = new PassThrough();
    const values: unknown[] = [];
    const stop = readJsonLines(input, (value) => values.push(value));
    input.write('1\n');
    await new Promise((resolve) => setImmediate(resolve));
    stop();
    input.write('2\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(values).toEqual([1]);
  });
});
