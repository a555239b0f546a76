import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readImageParameters, warningsParameter } from '../../../src/inference/oip/index.ts';

const colour = { code: 'COLOR_IMAGE', message: 'The image is in colour; …' } as const;
const large = { code: 'LARGE_IMAGE', message: 'The image is 4032×3024; …' } as const;

describe('warnings across the Open Inference Protocol (model server → gateway)', () => {
  it('travel as one JSON string parameter, each with its image index; none: no parameter', () => {
    assert.equal(warningsParameter([[], []]), undefined);
    const p = warningsParameter([[], [colour, large]])!;
    assert.deepEqual(JSON.parse(p.loupe_warnings as string), [
      { image: 1, ...colour },
      { image: 1, ...large },
    ]);
  });

  it("a gateway reads back its one image's warnings as /predict shows them", () => {
    const p = { loupe_image_format: 'jpeg', loupe_image_width: 4032, loupe_image_height: 3024 };
    const single = { ...p, ...warningsParameter([[colour, large]]) };
    assert.deepEqual(readImageParameters(single, 12).warnings, [colour, large]);
    assert.deepEqual(readImageParameters(p, 12).warnings, []);
    assert.deepEqual(readImageParameters({ loupe_warnings: '{ nope' }, 1).warnings, [], 'garbage is no warning');
  });
});
