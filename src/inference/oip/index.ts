export * from './types.ts';
export { checkOutputs, decodeInput, encodeOutputs, type DecodedInput } from './codec.ts';
export {
  HEADER_LENGTH,
  decodeBytesElements,
  decodeInferRequest,
  decodeInferResponse,
  encodeBytesElements,
  encodeInferRequest,
  encodeInferResponse,
  float32FromBytes,
  type Framed,
} from './wire.ts';

/** The protocol extensions Loupe speaks, as `GET /v2` lists them. */
export const OIP_EXTENSIONS: readonly string[] = [
  'binary_tensor_data',
  'classification',
  'model_configuration',
  'model_repository',
  'statistics',
  'loupe_image_bytes',
];
export { WARNINGS_PARAMETER, imageParameters, readImageParameters, warningsParameter } from './loupe-parameters.ts';
export { repositoryIndex, tritonModelConfig } from './triton.ts';
export type * from './triton-types.ts';
export { emptyStatistics, sumStatistics } from './statistics.ts';
