import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Job, JobItem } from '../../../web/src/api.ts';
import { jobCsv } from '../../../web/src/batch-export.ts';
import { mergeJobs } from '../../../web/src/batch-jobs.ts';

const item = (index: number, labels: Array<[string, number]>): JobItem => ({
  index,
  filename: `f${index}.png`,
  status: 'done',
  prediction_id: `p${index}`,
  result: {
    model: { name: 'm', version: '1' },
    predictions: labels.map(([label, score], i) => ({ label, index: i, score })),
  },
  error: null,
});
const job = (id: string, status: Job['status'], items: JobItem[], failed = 0): Job => ({
  id,
  status,
  progress: { total: items.length, done: items.length - failed, failed },
  items,
});

describe("the Batch tab's CSV and its jobs", () => {
  it('CSV has every ranked label the job asked for (top_k), not only the top one', () => {
    const csv = jobCsv(
      job('j', 'completed', [
        item(0, [
          ['Bag', 0.5],
          ['Shirt', 0.3],
          ['Coat', 0.2],
        ]),
        item(1, [
          ['Sandal', 0.9],
          ['Sneaker', 0.1],
        ]),
      ]),
    );
    assert.deepEqual(csv.split('\r\n'), [
      'index,filename,status,label,score,label_2,score_2,label_3,score_3,model,version,prediction_id,error',
      '0,f0.png,done,Bag,0.5,Shirt,0.3,Coat,0.2,m,1,p0,',
      '1,f1.png,done,Sandal,0.9,Sneaker,0.1,,,m,1,p1,',
      '',
    ]);
  });

  it('several jobs shown as one: items in the order chosen, progress summed, done when all are', () => {
    const groups = [[0, 1], [2, 3], [4]];
    const a = job('a', 'completed', [item(0, [['x', 1]]), item(1, [['y', 1]])]);
    const b = job('b', 'running', [item(1, [['w', 1]]), item(0, [['z', 1]])]);
    const c = job('c', 'queued', [item(0, [['v', 1]])]);
    const running = mergeJobs([a, b, c], groups);
    assert.equal(running.status, 'running');
    assert.deepEqual(
      running.items.map((it) => [it.index, it.result!.predictions[0]!.label]),
      [
        [0, 'x'],
        [1, 'y'],
        [2, 'z'],
        [3, 'w'],
        [4, 'v'],
      ],
    );
    assert.deepEqual(running.progress, { total: 5, done: 5, failed: 0 });
    const ended = mergeJobs([a, { ...b, status: 'completed' }, { ...c, status: 'failed' }], groups);
    assert.equal(ended.status, 'failed');
    assert.equal(mergeJobs([a], [[0, 1]]), a);
  });
});
