// The file `generate --diagram` writes beside the scripts (the output stage needs the name alone).
export const DIAGRAM_FILE = 'topology.svg';
