import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../../web/src/api.ts';
import { explain } from '../../../web/src/messages.ts';
import { jobCsv } from '../../../web/src/batch-export.ts';

describe('the web page: what it says about a refused request', () => {
  const said = (status: number, code: string, retryAfterS?: number, hasKey = false) =>
    explain(new ApiError(status, code, 'server says why', 'req-1', retryAfterS), hasKey);

  it('names the problem, keeps the server message and request id', () => {
    assert.match(said(413, 'PAYLOAD_TOO_LARGE').title, /too large/);
    assert.match(said(415, 'UNSUPPORTED_MEDIA_TYPE').title, /not an image Loupe can read/);
    assert.match(said(422, 'IMAGE_TOO_LARGE').title, /could not be used/);
    assert.equal(said(422, 'INVALID_IMAGE').detail, 'server says why (request id req-1)');
  });

  it('says when to retry, from Retry-After', () => {
    assert.match(said(429, 'RATE_LIMITED', 17).title, /Too many requests\. Try again in 17 seconds\./);
    assert.match(said(503, 'OVERLOADED', 1).title, /busy or still starting\. Try again in a second\./);
    assert.match(said(503, 'NOT_READY').title, /Try again in a moment\./);
  });

  it('tells a missing key from a wrong one and from a missing scope', () => {
    assert.match(said(401, 'UNAUTHORIZED').title, /needs an API key/);
    assert.match(said(401, 'UNAUTHORIZED', undefined, true).title, /was not accepted/);
    assert.match(said(403, 'FORBIDDEN', undefined, true).title, /lacks the scope/);
    assert.match(explain(new ApiError(0, 'NETWORK', 'x'), false).title, /could not be reached/);
  });
});

describe('the web page: a job as CSV', () => {
  it('one RFC 4180 row per image, quoting what needs it', () => {
    const csv = jobCsv({
      id: 'j',
      status: 'completed',
      progress: { total: 2, done: 1, failed: 1 },
      items: [
        {
          index: 0,
          filename: 'a, "b".png',
          status: 'done',
          prediction_id: 'p',
          result: { model: { name: 'm', version: '1' }, predictions: [{ label: 'Bag', index: 8, score: 0.5 }] },
          error: null,
        },
        {
          index: 1,
          filename: 'c.pdf',
          status: 'failed',
          prediction_id: null,
          result: null,
          error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'pdf' },
        },
      ],
    });
    assert.equal(
      csv,
      'index,filename,status,label,score,model,version,prediction_id,error\r\n' +
        '0,"a, ""b"".png",done,Bag,0.5,m,1,p,\r\n' +
        '1,c.pdf,failed,,,,,,UNSUPPORTED_MEDIA_TYPE: pdf\r\n',
    );
  });

  it('puts a quote before a file name or label a spreadsheet would run as a formula', () => {
    const item = (index: number, filename: string, label: string) => ({
      index,
      filename,
      status: 'done',
      prediction_id: 'p',
      result: { model: { name: 'm', version: '1' }, predictions: [{ label, index: 0, score: 0.25 }] },
      error: null,
    });
    const csv = jobCsv({
      id: 'j',
      status: 'completed',
      progress: { total: 3, done: 3, failed: 0 },
      items: [
        item(0, '=HYPERLINK("http://x","y").png', '@SUM(A1)'),
        item(1, '-1+2.png', '+x'),
        item(2, 'ok.png', 'Bag'),
      ],
    });
    assert.deepEqual(csv.split('\r\n').slice(1, 4), [
      `0,"'=HYPERLINK(""http://x"",""y"").png",done,'@SUM(A1),0.25,m,1,p,`,
      "1,'-1+2.png,done,'+x,0.25,m,1,p,",
      '2,ok.png,done,Bag,0.25,m,1,p,',
    ]);
  });
});
