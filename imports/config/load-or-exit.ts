import { loadConfig, type Config } from './config';
import { ConfigError } from './validate';

/**
 * For entry points: the config, or, when a setting is wrong, its one-line
 * error on stderr and exit code 78 (EX_CONFIG, sysexits.h), so a supervisor
 * sees a configuration mistake rather than a crash, and the operator sees
 * the line that says what to fix instead of a stack trace.
 * Example: `const config = loadConfigOrExit();`
 */
export const CONFIG_ERROR_EXIT_CODE = 78;

export function loadConfigOrExit(...args: Parameters<typeof loadConfig>): Config {
  try {
    return loadConfig(...args);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(error.message + '\n');
    process.exit(CONFIG_ERROR_EXIT_CODE);
  }
}
