// The models-out limits and names the CLI and the dashboard show, from the one definition the
// daemon validates with (a light module: no plotting or gRPC code behind it).
export {
  EMBED_SPLITS,
  EXPORT_FORMATS,
  IMAGE_RESIZE_RULE,
  MAX_IMAGES_PER_CALL,
  MAX_TOP_K,
} from '../server/shared/contract/models-out.js';
