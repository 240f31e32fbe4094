export { LANGS, type Lang } from './labels.js';
export {
  type ProcessingRecords,
  type PurposeEntry,
  recordsOfProcessing,
  type TransferEntry,
} from './records.js';
export { recordsHtml, recordsMarkdown } from './render.js';
