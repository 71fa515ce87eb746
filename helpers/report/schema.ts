// The results schema lives on the ground floor (helpers/model/results.ts); this name stays for its readers.
export * from '../model/results.ts';
