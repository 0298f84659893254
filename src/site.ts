// Where the documentation site lives: the published schema, and the reference that reports point to.
export const DOCS_SITE = 'https://macvlan-gen.dev';
