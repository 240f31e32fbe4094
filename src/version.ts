/** This package's version, stamped into every audit record's `enforcer`. A test keeps it equal to package.json. */
export const VERSION = '0.1.0';
