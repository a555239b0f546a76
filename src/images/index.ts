export { sniffFormat, type SupportedFormat, type Sniffed } from './sniff.ts';
export { preprocess, type PreprocessSpec, type Preprocessed, type ImageLimits } from './preprocess.ts';
export { domainWarnings, type ImageWarning, type ImageFacts } from './domain.ts';
