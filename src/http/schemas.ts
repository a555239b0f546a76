import { Type, type Static } from 'typebox';
import { ErrorCode } from '../errors.ts';

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.Union(Object.values(ErrorCode).map((c) => Type.Literal(c))),
      message: Type.String(),
      request_id: Type.String(),
    }),
  },
  {
    $id: 'Error',
    description: 'Every Loupe error: a stable code, a readable message and the request id.',
    examples: [
      {
        error: {
          code: 'INVALID_IMAGE',
          message: 'the png image could not be decoded (truncated or corrupt)',
          request_id: '9b2f6c1e-6d0b-4a57-9a43-1f4c3c6f2b11',
        },
      },
    ],
  },
);

export const OipErrorBody = Type.Object(
  { error: Type.String() },
  {
    $id: 'OipError',
    description: 'Open Inference Protocol error',
    examples: [{ error: 'model "resnet" is not loaded' }],
  },
);

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, Type.Ref('Error')]));
export const oipErrorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, Type.Ref('OipError')]));

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
    precision: Type.String({
      description: "The graph's numeric precision from model.json: fp32 (default), fp16 or int8",
    }),
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
