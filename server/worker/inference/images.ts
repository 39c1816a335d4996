// Client images (PNG, JPEG, WebP bytes) to the network's input: decoded with sharp, alpha
// dropped, grey expanded to RGB, and resized when their size differs (centre crop to the
// network's aspect ratio, then scaled), as uint8 HWC.
import sharp from 'sharp';
import { IMAGE_FORMATS, sniffImage } from '../../shared/contract/models-out.js';
import { InferenceInputError } from '../../shared/inference-protocol.js';

export async function decodeImages(images: Uint8Array[], height: number, width: number): Promise<Uint8Array> {
  const pix = height * width * 3;
  const out = new Uint8Array(images.length * pix);
  for (let i = 0; i < images.length; i++) {
    const bytes = images[i]!;
    if (!sniffImage(bytes)) {
      throw new InferenceInputError(`image ${i} is not ${IMAGE_FORMATS.join(', ')} data`, 'badInput');
    }
    try {
      let img = sharp(bytes, { failOn: 'error' }).removeAlpha().toColourspace('srgb');
      const meta = await sharp(bytes).metadata();
      if (meta.width !== width || meta.height !== height) {
        img = img.resize(width, height, { fit: 'cover', position: 'centre' });
      }
      const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
      if (info.width !== width || info.height !== height || info.channels !== 3) {
        throw new Error(`decoded to ${info.width}×${info.height}×${info.channels}`);
      }
      out.set(data, i * pix);
    } catch (err) {
      if (err instanceof InferenceInputError) throw err;
      const msg = err instanceof Error ? err.message : String(err);
      throw new InferenceInputError(`image ${i} cannot be decoded: ${msg.slice(0, 120)}`, 'badInput');
    }
  }
  return out;
}
