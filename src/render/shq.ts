// Quote one value for a POSIX shell, by the rules of Python's shlex.quote: safe words stay bare, the rest are single-quoted.
const UNSAFE = /[^\w@%+=:,./-]/;

export function shq(value: string | number): string {
  const text = String(value);
  if (text === '') return "''";
  if (!UNSAFE.test(text)) return text;
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}
