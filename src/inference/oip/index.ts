export * from './types.ts';
export { decodeInput, encodeOutputs, encodeBinaryBytes, topIndices, softmax, type DecodedInput } from './codec.ts';
