// The files `generate --ansible` writes beside the scripts, by name (the output stage needs the names alone).
export const INVENTORY_FILE = 'inventory.yml';
export const PLAYBOOK_FILES = ['rollout.yml', 'teardown.yml'] as const;
export const ANSIBLE_FILES: readonly string[] = [INVENTORY_FILE, ...PLAYBOOK_FILES];
