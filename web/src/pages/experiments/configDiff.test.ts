import { describe, expect, it } from 'vitest';
import { configRows } from './configDiff';

describe('configRows', () => {
  it('lists every setting of any run, differing ones first, missing ones as a dash', () => {
    expect(
      configRows([
        { epochs: 5, lr: 0.1, seed: 7 },
        { epochs: 5, lr: 0.5 },
      ]),
    ).toEqual([
      { name: 'lr', values: ['0.1', '0.5'], differs: true },
      { name: 'seed', values: ['7', '—'], differs: true },
      { name: 'epochs', values: ['5', '5'], differs: false },
    ]);
  });
});
