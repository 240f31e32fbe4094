// Routes are added in main.ts, where the pipl-guard guard is built (see routes.ts).
export default () => {};
