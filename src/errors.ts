// Every error the CLI can end with carries its exit code; only main() turns it into process.exitCode.
export const EXIT = { ok: 0, findings: 1, usage: 2, invalidConfig: 3, environment: 4, internal: 70 } as const;

export class CliError extends Error {
  readonly exitCode: number = EXIT.internal;
}

export class FindingsError extends CliError {
  override readonly exitCode = EXIT.findings;
}

export class UsageError extends CliError {
  override readonly exitCode = EXIT.usage;
}

export class ConfigError extends CliError {
  override readonly exitCode = EXIT.invalidConfig;
}

export class EnvironmentError extends CliError {
  override readonly exitCode = EXIT.environment;
}
