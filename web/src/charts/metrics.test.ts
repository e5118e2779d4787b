import { describe, expect, it } from 'vitest';
import { alignedFor, mergeEvents, metricTable, plottedPoints, tickLabels, type TrainerEvent } from './metrics';

const progress = (seq: number, epoch: number, metrics: Record<string, number>): TrainerEvent => ({
  seq,
  kind: 'progress',
  body: { event: 'progress', seq, epoch, metrics },
});

describe('metricTable', () => {
  it('gives every metric a series on one sorted epoch axis', () => {
    const table = metricTable([
      { seq: 1, kind: 'started', body: { total_epochs: 3 } },
      progress(2, 1, { loss: 0.9, accuracy: 0.5 }),
      progress(3, 2, { loss: 0.7, accuracy: 0.6 }),
      { seq: 4, kind: 'checkpoint', body: { epoch: 2, metrics: { accuracy: 0.6 } } },
    ]);
    expect(table).toEqual({
      epochs: [1, 2],
      metrics: [
        { name: 'accuracy', values: [0.5, 0.6] },
        { name: 'loss', values: [0.9, 0.7] },
      ],
    });
  });

  it('leaves null where an epoch lacks a metric or an epoch is missing', () => {
    const table = metricTable([progress(1, 1, { loss: 1 }), progress(2, 3, { loss: 0.5, mAP50: 0.2 })]);
    expect(table.epochs).toEqual([1, 3]);
    expect(alignedFor(table, 'mAP50')).toEqual([
      [1, 3],
      [null, 0.2],
    ]);
    expect(alignedFor(table, 'nothing')).toEqual([
      [1, 3],
      [null, null],
    ]);
  });

  it('is the same whatever order events arrive in; a re-reported epoch takes the later seq', () => {
    const events = [progress(3, 2, { loss: 0.4 }), progress(1, 1, { loss: 0.9 }), progress(2, 2, { loss: 0.6 })];
    expect(metricTable(events)).toEqual({ epochs: [1, 2], metrics: [{ name: 'loss', values: [0.9, 0.4] }] });
    expect(metricTable([...events].reverse())).toEqual(metricTable(events));
  });

  it('ignores non-numeric metrics and malformed bodies', () => {
    const table = metricTable([
      { seq: 1, kind: 'progress', body: { epoch: 'one', metrics: { loss: 1 } } },
      { seq: 2, kind: 'progress', body: { epoch: 1 } },
      { seq: 3, kind: 'progress', body: { epoch: 1, metrics: { loss: 'high', accuracy: 0.5 } } },
    ]);
    expect(table).toEqual({ epochs: [1], metrics: [{ name: 'accuracy', values: [0.5] }] });
  });
});

describe('mergeEvents', () => {
  it('keeps each seq once, so a replay or a duplicate does not add points', () => {
    let known = new Map<number, TrainerEvent>();
    known = mergeEvents(known, [progress(1, 1, { loss: 1 }), progress(2, 2, { loss: 0.5 })]);
    const again = mergeEvents(known, [progress(2, 2, { loss: 0.5 })]);
    expect(again).toBe(known);
    const grown = mergeEvents(known, [progress(3, 3, { loss: 0.2 }), progress(1, 1, { loss: 1 })]);
    expect([...grown.keys()].sort()).toEqual([1, 2, 3]);
    expect(plottedPoints(metricTable(grown.values()).metrics[0]!.values)).toBe(3);
  });
});

describe('tickLabels', () => {
  it('keeps three digits, more only where ticks would read the same', () => {
    expect(tickLabels([0, 0.25, 0.5])).toEqual(['0', '0.25', '0.5']);
    expect(tickLabels([1.9564e-8, 1.9566e-8])).toEqual(['1.956e-8', '1.957e-8']);
  });
});
