import { describe, expect, it } from 'vitest';
import { percent, uploadErrorMessage } from './putFile';

describe('upload progress', () => {
  it('is whole percent, capped, and 0 for an unknown size', () => {
    expect(percent({ loaded: 0, total: 200 })).toBe(0);
    expect(percent({ loaded: 199, total: 200 })).toBe(99);
    expect(percent({ loaded: 250, total: 200 })).toBe(100);
    expect(percent({ loaded: 10, total: 0 })).toBe(0);
  });

  it('says what a refused upload means', () => {
    expect(uploadErrorMessage(403)).toMatch(/expired/);
    expect(uploadErrorMessage(413)).toMatch(/too large/);
    expect(uploadErrorMessage(0)).toMatch(/connection/);
    expect(uploadErrorMessage(500)).toMatch(/500/);
  });
});
