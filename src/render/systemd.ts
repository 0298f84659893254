// Values written into a systemd unit file. Validated names pass unchanged; anything else is escaped the way
// systemd-escape does, so no value can start a new line, a specifier (%), a quote or a second word in the unit.
const UNIT_SAFE = /[A-Za-z0-9:_./-]/;

function escapeChars(value: string, keep: (ch: string) => boolean): string {
  return [...new TextEncoder().encode(value)]
    .map((byte) => {
      const ch = String.fromCharCode(byte);
      return byte < 0x80 && keep(ch) ? ch : `\\x${byte.toString(16).padStart(2, '0')}`;
    })
    .join('');
}

/** A word for a unit file: a path, a unit name, a hash. */
export function unitValue(value: string): string {
  return escapeChars(value, (ch) => UNIT_SAFE.test(ch));
}

/** The device unit systemd makes for a network interface: sys-subsystem-net-devices-<name>.device. */
export function netDeviceUnit(interfaceName: string): string {
  // As `systemd-escape --path`: "/" becomes "-", so "-" itself and a leading "." must be escaped.
  const escaped = escapeChars(interfaceName, (ch) => /[A-Za-z0-9:_.]/.test(ch)).replace(/^\./, '\\x2e');
  return `sys-subsystem-net-devices-${escaped}.device`;
}
