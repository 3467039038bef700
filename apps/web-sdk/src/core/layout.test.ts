import { describe, expect, it } from 'vitest';
import { gridLayout, isSpeaking } from './layout.js';

describe('gridLayout', () => {
  it('puts four tiles in a 2x2 grid in a 16:9 box', () => {
    expect(gridLayout(4, 1280, 720)).toEqual({ columns: 2, rows: 2, tileWidth: 640, tileHeight: 360 });
  });
  it('stacks two tiles in a tall box and puts them side by side in a wide one', () => {
    expect(gridLayout(2, 400, 800).columns).toBe(1);
    expect(gridLayout(2, 1600, 400).columns).toBe(2);
  });
  it('keeps every tile inside the box, gaps included', () => {
    for (const count of [1, 2, 3, 5, 7, 9, 12]) {
      const g = gridLayout(count, 984, 600, 16 / 9, 8);
      expect(g.columns * g.rows).toBeGreaterThanOrEqual(count);
      expect(g.tileWidth * g.columns + 8 * (g.columns - 1)).toBeLessThanOrEqual(984);
      expect(g.tileHeight * g.rows + 8 * (g.rows - 1)).toBeLessThanOrEqual(600);
    }
  });
  it('handles an empty room and an unmeasured box', () => {
    expect(gridLayout(0, 100, 100).rows).toBe(0);
    expect(gridLayout(3, 0, 0).tileWidth).toBe(0);
  });
});

describe('isSpeaking', () => {
  it('starts above the on threshold and stops only below the off threshold', () => {
    expect(isSpeaking(0.03, false)).toBe(false);
    expect(isSpeaking(0.05, false)).toBe(true);
    expect(isSpeaking(0.03, true)).toBe(true);
    expect(isSpeaking(0.01, true)).toBe(false);
  });
});
