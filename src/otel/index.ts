export { type InstrumentPiplOptions, instrumentPipl, type PiplInstrumentation } from './instrument.js';
