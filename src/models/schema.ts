import { Type, type Static } from 'typebox';
import { PROVIDER_PATTERN } from '../config/shared/index.ts';

const Positive = (description: string, extra: object = {}) => Type.Integer({ minimum: 1, description, ...extra });

/** `<store>/<name>/model.json`: how to feed and read the model. */
export const ModelConfigSchema = Type.Object({
  name: Type.Optional(Type.String({ description: 'Informational; the directory name is the model name.' })),
  format: Type.Optional(Type.Literal('onnx', { default: 'onnx' })),
  description: Type.Optional(Type.String()),
  card: Type.Optional(
    Type.Object({
      trained_on: Type.Optional(
        Type.String({ description: 'What the model was trained on: the data, and what its images look like' }),
      ),
      intended_use: Type.Optional(Type.String({ description: 'What it is for, and where its answers mean nothing' })),
    }),
  ),
  input: Type.Object({
    name: Type.String({ minLength: 1, description: 'ONNX input name' }),
    color: Type.Union([Type.Literal('rgb'), Type.Literal('grayscale')]),
    width: Positive('model input width'),
    height: Positive('model input height'),
    resize: Type.Union([Type.Literal('shorter-side-center-crop'), Type.Literal('stretch')]),
    resize_shorter: Type.Optional(Positive('shorter side before the center crop (torchvision Resize(n))')),
    mean: Type.Array(Type.Number(), { minItems: 1, maxItems: 3 }),
    std: Type.Array(Type.Number({ exclusiveMinimum: 0 }), { minItems: 1, maxItems: 3 }),
    background: Type.Optional(
      Type.Union([Type.Literal('dark'), Type.Literal('light')], {
        description:
          'The background of the training images (Fashion-MNIST: dark); an upload with the other one gets a warning',
      }),
    ),
  }),
  output: Type.Object({
    name: Type.Optional(Type.String({ minLength: 1, description: 'ONNX output name (default: the first output)' })),
    kind: Type.Union([Type.Literal('logits'), Type.Literal('probabilities')]),
  }),
  variants: Type.Optional(
    Type.Record(Type.String({ pattern: PROVIDER_PATTERN }), Type.String({ pattern: '^[A-Za-z0-9._-]+\\.onnx$' }), {
      description:
        'Per execution provider, another ONNX file in the version directory (e.g. {"cuda": "model.fp16.onnx"}); same inputs and outputs.',
    }),
  ),
  precision: Type.Optional(
    Type.Union([Type.Literal('fp32'), Type.Literal('fp16'), Type.Literal('int8')], {
      description:
        "Numeric precision of model.onnx's weights and arithmetic: int8 is a statically quantized QDQ graph " +
        '(QuantizeLinear/DequantizeLinear pairs that ONNX Runtime fuses into int8 kernels). Informational; default fp32.',
    }),
  ),
  calibration: Type.Optional(
    Type.Object(
      {
        source: Type.String({ description: 'Where the calibration images came from (a dataset or a directory)' }),
        images: Type.Integer({ minimum: 0, description: 'How many images set the activation ranges' }),
        synthetic: Type.Boolean({
          description: 'True when no images of the domain were given and random tensors stood in: accuracy unknown',
        }),
      },
      { description: 'For a quantized model: the data its activation ranges were calibrated on' },
    ),
  ),
  batching: Type.Optional(
    Type.Object({
      max_batch_size: Type.Optional(Positive('largest batch one ONNX Runtime call may take')),
      max_queue_delay_ms: Type.Optional(
        Type.Number({ minimum: 0, description: 'how long a request may wait for a batch to fill' }),
      ),
      max_queue_size: Type.Optional(Positive('requests that may wait before new ones get 503')),
    }),
  ),
});

export type ModelConfig = Static<typeof ModelConfigSchema>;

// No added delay by default (as Triton): batches still form from requests that arrive while
// the previous batch runs, and a lone request is never held back. At most 8 per call: on CPU a
// 224×224 CNN runs no faster past batch 4–8, while ONNX Runtime's arena grows with the batch
// (ResNet-18 / MobileNetV2 under 16 clients: 45 / 80 MB less peak RSS than with 32, same img/s;
// docs/performance.md, "Memory"). A model that gains from more (a GPU, a tiny input) sets its own.
export const DEFAULT_BATCHING = { max_batch_size: 8, max_queue_delay_ms: 0, max_queue_size: 256 } as const;
