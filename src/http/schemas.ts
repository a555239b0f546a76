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
      },
    ],
  },
);
export type PredictionBody = Static<typeof PredictionBody>;

export const ModelBody = Type.Object(
  {
    name: Type.String(),
    version: Type.String({ description: 'The version this description is of (the latest unless one was asked for)' }),
    versions: Type.Array(Type.String()),
    format: Type.String(),
    platform: Type.String(),
    provider: Type.String({ description: 'Active ONNX Runtime execution provider' }),
    description: Type.Optional(Type.String()),
    inputs: Type.Array(
      Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) }),
    ),
    outputs: Type.Array(
      Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) }),
    ),
    labels_count: Type.Integer(),
    labels: Type.Optional(Type.Array(Type.String())),
    preprocessing: Type.Object({
      color: Type.String(),
      width: Type.Integer(),
      height: Type.Integer(),
      resize: Type.String(),
      resize_shorter: Type.Optional(Type.Integer()),
      mean: Type.Array(Type.Number()),
      std: Type.Array(Type.Number()),
    }),
    output_kind: Type.String(),
    batching: Type.Object({
      max_batch_size: Type.Integer(),
      max_queue_delay_ms: Type.Number(),
      max_queue_size: Type.Integer(),
    }),
  },
  {
    examples: [
      {
        name: 'fashion-mnist',
        version: '1',
        versions: ['1'],
        format: 'onnx',
        platform: 'onnxruntime_onnx',
        provider: 'cpu',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 1, 28, 28] }],
        outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 10] }],
        labels_count: 10,
        preprocessing: {
          color: 'grayscale',
          width: 28,
          height: 28,
          resize: 'shorter-side-center-crop',
          resize_shorter: 28,
          mean: [0.286],
          std: [0.353],
        },
        output_kind: 'logits',
        batching: { max_batch_size: 64, max_queue_delay_ms: 2, max_queue_size: 512 },
      },
    ],
  },
);
export type ModelBody = Static<typeof ModelBody>;
