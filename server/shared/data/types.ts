// Shapes shared by the data layer and the engine. Images are always uint8 NHWC in memory;
// batches become float32 only when they are drawn.

export type Split = 'train' | 'test' | 'unlabeled';

/** A set of images held as uint8, NHWC, with uint8 labels (255 = unlabeled). */
export interface ImageSet {
  dataset: string;
  split: Split;
  count: number;
  height: number;
  width: number;
  channels: 3;
  /** count * height * width * 3 bytes, NHWC, RGB. */
  images: Uint8Array;
  /** count labels, 0-based; 255 where unlabeled. */
  labels: Uint8Array;
  numClasses: number;
  classNames: string[];
}
