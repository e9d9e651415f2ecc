import { describe, expect, it } from 'vitest';
import { newExecutionId } from './execution-id.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newExecutionId', () => {
  it('returns version 4 UUIDs, distinct across several refills of its random pool', () => {
    const ids = Array.from({ length: 2_000 }, () => newExecutionId());
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('uses every hex digit in the random positions (not a constant pattern)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) for (const c of newExecutionId().replace(/-/g, '').slice(0, 12)) seen.add(c);
    expect(seen.size).toBe(16);
  });
});
