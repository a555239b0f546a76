import { Type, type Static } from 'typebox';
import { ErrorCode } from '../errors.ts';

const ErrorFields = {
  error: Type.Object({
    code: Type.Union(Object.values(ErrorCode).map((c) => Type.Literal(c))),
    message: Type.String(),
    request_id: Type.String(),
  }),
};
const ERROR_DESCRIPTION = 'Every Loupe error: a stable code, a readable message and the request id.';

export const ErrorBody = Type.Object(ErrorFields, {
  $id: 'Error',
  description: ERROR_DESCRIPTION,
  examples: [
    {
      error: {
        code: 'INVALID_IMAGE',
        message: 'the png image could not be decoded (truncated or corrupt)',
        request_id: '9b2f6c1e-6d0b-4a57-9a43-1f4c3c6f2b11',
      },
    },
  ],
});

const OIP_ERROR_DESCRIPTION = 'Open Inference Protocol error';
export const OipErrorBody = Type.Object(
  { error: Type.String() },
  { $id: 'OipError', description: OIP_ERROR_DESCRIPTION, examples: [{ error: 'model "resnet" is not loaded' }] },
);

const EXAMPLE_REQUEST_ID = '9b2f6c1e-6d0b-4a57-9a43-1f4c3c6f2b11';

/**
 * One real answer per status, as the server words it: /docs shows each status with its own
 * example, so a reader can tell a 413 from a 422 without reading the code.
 */
const ERROR_EXAMPLES: Readonly<Record<number, { code: ErrorCode; message: string }>> = {
  400: { code: 'BAD_REQUEST', message: 'top_k must be an integer from 1 to 10 for model "fashion-mnist"' },
  401: {
    code: 'UNAUTHORIZED',
    message: 'an API key is required: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>"',
  },
  403: { code: 'FORBIDDEN', message: 'API key 3f9a0c1e may not POST /predict: it needs the scope predict' },
  404: { code: 'MODEL_NOT_FOUND', message: 'model "resnet50" is not loaded' },
  413: { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is 31457280 bytes; the limit is 20971520' },
  415: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'pdf images are not supported; send JPEG, PNG, WebP, GIF, TIFF or AVIF',
  },
  422: { code: 'INVALID_IMAGE', message: 'the png image could not be decoded (truncated or corrupt)' },
  429: { code: 'RATE_LIMITED', message: 'rate limit of 600 requests per minute reached; retry in 4 s' },
  500: { code: 'INTERNAL', message: 'internal error' },
  503: { code: 'OVERLOADED', message: 'the queue of this model is full (512 waiting); retry shortly' },
};

const OIP_ERROR_EXAMPLES: Readonly<Record<number, string>> = {
  400: 'input "input" has shape [1,3,28,28]; the model takes [N, 1, 28, 28]',
  401: ERROR_EXAMPLES[401]!.message,
  403: ERROR_EXAMPLES[403]!.message.replace('POST /predict', 'POST /v2/models/fashion-mnist/infer'),
  404: 'model "resnet50" is not loaded',
  413: ERROR_EXAMPLES[413]!.message,
  415: 'content type text/plain is not accepted',
  429: ERROR_EXAMPLES[429]!.message,
  500: 'internal error',
  503: ERROR_EXAMPLES[503]!.message,
};

/**
 * The `Error` body for one status, inline (a `$ref` would lose its siblings in the document),
 * with that status's own example.
 */
export function errorResponse(status: number) {
  const e = ERROR_EXAMPLES[status] ?? ERROR_EXAMPLES[400]!;
  const example = { error: { ...e, request_id: EXAMPLE_REQUEST_ID } };
  return Type.Object(ErrorFields, { description: ERROR_DESCRIPTION, examples: [example] });
}

/** The `OipError` body for one status, inline, with that status's own example. */
export function oipErrorResponse(status: number) {
  const example = { error: OIP_ERROR_EXAMPLES[status] ?? OIP_ERROR_EXAMPLES[400]! };
  return Type.Object({ error: Type.String() }, { description: OIP_ERROR_DESCRIPTION, examples: [example] });
}

export const errorResponses = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, errorResponse(s)]));
export const oipErrorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, oipErrorResponse(s)]));

/** A UUID as PostgreSQL's uuid type reads it; a looser pattern lets `----…` through to a failing cast. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

export const ModelRef = Type.Object({ name: Type.String(), version: Type.String() });

/** How far an image is from the model's training data (src/images/domain.ts). */
export const Warnings = Type.Array(
  Type.Object({
    code: Type.Union(
      [
        Type.Literal('COLOR_IMAGE'),
        Type.Literal('LARGE_IMAGE'),
        Type.Literal('LIGHT_BACKGROUND'),
        Type.Literal('DARK_BACKGROUND'),
      ],
      {
        description:
          'COLOR_IMAGE: a colour image into a grayscale model; LARGE_IMAGE: the model sees it more than 32× smaller; ' +
          "LIGHT_/DARK_BACKGROUND: the other background than the model's training images (where model.json says)",
      },
    ),
    message: Type.String({ description: 'The same in words, for a person' }),
  }),
  {
    description:
      "Empty unless the image is far from what the model was trained on; the labels are then likely meaningless (a classifier labels anything, confidently). Only about the model's input spec: colour, size, background.",
  },
);

export const PredictionBody = Type.Object(
  {
    id: Type.String({ description: 'Prediction id' }),
    model: ModelRef,
    predictions: Type.Array(
      Type.Object({
        label: Type.String(),
        index: Type.Integer({ description: 'Class index (line of labels.txt, from 0)' }),
        score: Type.Number({ description: "Probability (softmax of the logits, or the model's probabilities)" }),
      }),
    ),
    image: Type.Object(
      { format: Type.String(), width: Type.Integer(), height: Type.Integer() },
      { description: 'The decoded image, after EXIF orientation' },
    ),
    timings_ms: Type.Object({
      decode: Type.Number({ description: 'decode + orient + resize (libvips, one pass)' }),
      preprocess: Type.Number({ description: 'color conversion and normalisation to the float tensor' }),
      queue: Type.Number({ description: 'waiting for a batch to form or for the previous batch' }),
      inference: Type.Number({ description: 'ONNX Runtime time of the batch this image ran in' }),
      total: Type.Number({ description: 'all of the above plus upload handling' }),
    }),
    warnings: Warnings,
  },
  {
    examples: [
      {
        id: '0193a4b2-7c1d-7e6a-9f00-2b8c5d1e4f37',
        model: { name: 'fashion-mnist', version: '1' },
        predictions: [
          { label: 'Ankle boot', index: 9, score: 0.981 },
          { label: 'Sneaker', index: 7, score: 0.012 },
        ],
        image: { format: 'png', width: 28, height: 28 },
        timings_ms: { decode: 0.41, preprocess: 0.02, queue: 0.9, inference: 0.35, total: 1.9 },
        warnings: [],
      },
      {
        id: '0193a4b2-8e2f-7a10-b1c4-6d2e9f3a5b80',
        model: { name: 'fashion-mnist', version: '1' },
        predictions: [{ label: 'Bag', index: 8, score: 0.889 }],
        image: { format: 'jpeg', width: 4032, height: 3024 },
        timings_ms: { decode: 38.2, preprocess: 0.03, queue: 0.8, inference: 0.36, total: 41.5 },
        warnings: [
          {
            code: 'COLOR_IMAGE',
            message:
              'The image is in colour; this model was trained on grayscale images only, so its labels may mean little for it.',
          },
          {
            code: 'LARGE_IMAGE',
            message:
              'The image is 4032×3024; this model looks at 28×28, so it sees it 108 times smaller and fine detail is lost.',
          },
        ],
      },
    ],
  },
);
export type PredictionBody = Static<typeof PredictionBody>;
