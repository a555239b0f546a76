import { readFileSync } from 'node:fs';
import type { ModelConfig } from '../schema.ts';
import { PullError } from './errors.ts';

export interface Preset {
  readonly input: Partial<ModelConfig['input']>;
  readonly outputKind: ModelConfig['output']['kind'];
  readonly labels: () => string[];
}

// The ImageNet-1k class names the project ships for training/export_torchvision.py (the image
// carries the file at the same place relative to the code).
const IMAGENET_LABELS = new URL('../../../training/imagenet_labels.txt', import.meta.url);

/**
 * Named preprocessing + labels. `imagenet`: what torchvision's ImageNet classifiers (ResNet,
 * MobileNet, EfficientNet-B0…) expect: RGB, Resize(256) + CenterCrop(224), ImageNet mean/std,
 * 1000 logits in the standard class order.
 */
export const PRESETS: Readonly<Record<string, Preset>> = {
  imagenet: {
    input: {
      color: 'rgb',
      width: 224,
      height: 224,
      resize: 'shorter-side-center-crop',
      resize_shorter: 256,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    },
    outputKind: 'logits',
    labels: () =>
      readFileSync(IMAGENET_LABELS, 'utf8')
        .replace(/\r?\n$/, '')
        .split(/\r?\n/),
  },
};

export function preset(name: string): Preset {
  const p = Object.hasOwn(PRESETS, name) ? PRESETS[name] : undefined;
  if (!p) throw new PullError(`unknown preset "${name}" (known: ${Object.keys(PRESETS).join(', ')})`);
  return p;
}
