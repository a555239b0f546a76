import { Type, type Static } from 'typebox';

const Card = Type.Object(
  {
    trained_on: Type.Optional(Type.String({ description: 'What the model was trained on (model.json `card`)' })),
    intended_use: Type.Optional(Type.String({ description: 'What it is for, and where its answers mean nothing' })),
    accuracy: Type.Optional(
      Type.Object(
        {
          top1: Type.Number({ description: 'Top-1 accuracy on held-out test images, 0..1' }),
          test_images: Type.Optional(Type.Integer()),
          dataset: Type.Optional(Type.String()),
        },
        { description: "From the training output's metrics.json; absent where not measured" },
      ),
    ),
    samples: Type.Array(
      Type.Object({
        name: Type.String(),
        url: Type.String({ description: 'GET it (with the API key, if any) for the image' }),
      }),
      { description: "A few images of the model's own domain, to try it with" },
    ),
  },
  { description: 'The model card: absent from a model server that predates it' },
);

export const ModelBody = Type.Object(
  {
    name: Type.String(),
    default: Type.Boolean({ description: 'Whether requests that name no model get this one' }),
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
    labels: Type.Array(Type.String()),
    card: Type.Optional(Card),
    preprocessing: Type.Object({
      color: Type.String(),
      width: Type.Integer(),
      height: Type.Integer(),
      resize: Type.String(),
      resize_shorter: Type.Optional(Type.Integer()),
      mean: Type.Array(Type.Number()),
      std: Type.Array(Type.Number()),
      background: Type.Optional(Type.String({ description: 'The background of the training images, where known' })),
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
        default: true,
        version: '1',
        versions: ['1'],
        format: 'onnx',
        platform: 'onnxruntime_onnx',
        provider: 'cpu',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 1, 28, 28] }],
        outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 10] }],
        labels_count: 10,
        labels: [
          'T-shirt/top',
          'Trouser',
          'Pullover',
          'Dress',
          'Coat',
          'Sandal',
          'Shirt',
          'Sneaker',
          'Bag',
          'Ankle boot',
        ],
        card: {
          trained_on: 'Fashion-MNIST (Zalando Research): 60,000 28×28 grayscale images of single clothing items …',
          intended_use: 'A demonstration and test model …',
          accuracy: { top1: 0.9311, test_images: 10000, dataset: 'fashion-mnist' },
          samples: [{ name: 'ankle-boot.png', url: '/models/fashion-mnist/samples/ankle-boot.png?version=1' }],
        },
        preprocessing: {
          color: 'grayscale',
          width: 28,
          height: 28,
          resize: 'shorter-side-center-crop',
          resize_shorter: 28,
          mean: [0.286],
          std: [0.353],
          background: 'dark',
        },
        output_kind: 'logits',
        batching: { max_batch_size: 64, max_queue_delay_ms: 2, max_queue_size: 512 },
      },
    ],
  },
);
export type ModelBody = Static<typeof ModelBody>;
