import { Type } from 'typebox';
import { INFER_EXAMPLE } from './examples.ts';

const Parameters = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]));

export const InferRequestSchema = Type.Object(
  {
    id: Type.Optional(Type.String()),
    parameters: Type.Optional(Parameters),
    // An empty list is refused by the backend ("takes exactly one input"), in the words gRPC gets too.
    inputs: Type.Array(
      Type.Object({
        name: Type.String(),
        // An empty name, negative dims and an empty datatype are refused by the backend and its codec,
        // in the words gRPC gets too.
        shape: Type.Array(Type.Integer({ description: 'non-negative' })),
        datatype: Type.String(),
        parameters: Type.Optional(Parameters),
        data: Type.Optional(Type.Array(Type.Unknown())),
      }),
    ),
    outputs: Type.Optional(
      Type.Array(Type.Object({ name: Type.String({ minLength: 1 }), parameters: Type.Optional(Parameters) })),
    ),
  },
  {
    examples: [INFER_EXAMPLE],
  },
);

export const InferResponseSchema = Type.Object(
  {
    model_name: Type.String(),
    model_version: Type.Optional(Type.String()),
    id: Type.Optional(Type.String()),
    parameters: Type.Optional(Parameters),
    outputs: Type.Array(
      Type.Object({
        name: Type.String(),
        shape: Type.Array(Type.Integer()),
        datatype: Type.String(),
        parameters: Type.Optional(Parameters),
        data: Type.Optional(Type.Array(Type.Union([Type.Number(), Type.String()]))),
      }),
    ),
  },
  {
    examples: [
      {
        model_name: 'fashion-mnist',
        model_version: '1',
        id: 'req-1',
        outputs: [
          {
            name: 'logits',
            shape: [1, 3],
            datatype: 'BYTES',
            data: ['9.81:9:Ankle boot', '4.2:7:Sneaker', '1.1:5:Sandal'],
          },
        ],
      },
    ],
  },
);

export const TensorMetadata = Type.Object({
  name: Type.String(),
  datatype: Type.String(),
  shape: Type.Array(Type.Integer()),
});

export const ModelMetadataSchema = Type.Object(
  {
    name: Type.String(),
    versions: Type.Array(Type.String()),
    platform: Type.String(),
    inputs: Type.Array(TensorMetadata),
    outputs: Type.Array(TensorMetadata),
    parameters: Type.Optional(Parameters),
  },
  {
    examples: [
      {
        name: 'fashion-mnist',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 1, 28, 28] }],
        outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 10] }],
        parameters: { provider: 'cpu', labels: 10 },
      },
    ],
  },
);
