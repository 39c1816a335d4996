// The seeded PRNG lives in shared/data (the importer carves test splits with it too).
export * from '../../shared/data/rng.js';
